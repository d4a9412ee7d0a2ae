package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// View as (the entry point; see the package comment) and the audit log.

type viewAsData struct {
	roles
	Query   string
	User    string
	Results []access.User
	Recent  []auditRow
	// AccountNames name the results' home accounts.
	AccountNames map[string]string
}

// handleViewAs picks an external user: with ?user= it opens the portal as
// that user (app.ViewAs audits it) and redirects there; with ?q= it
// searches external users; it always lists the recent uses.
func (s *Surface) handleViewAs(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	ctx := r.Context()
	q := r.URL.Query()
	d := viewAsData{roles: rolesOf(c), Query: strings.TrimSpace(q.Get("q")), User: strings.TrimSpace(q.Get("user"))}
	p := page(c, "View as", "view-as")
	status := http.StatusOK
	if d.User != "" {
		u, acct, err := s.app.ViewAs(ctx, c, d.User)
		if err == nil {
			http.Redirect(w, r, "/admin/view-as/"+url.PathEscape(u.ID)+"/a/"+url.PathEscape(acct)+"/", http.StatusSeeOther)
			return nil
		}
		if status, err = oneInput(p, err, "viewas_user"); err != nil {
			return err
		}
	}
	if d.Query != "" {
		users, err := s.app.ListUsers(ctx, c, app.UserFilter{Kind: access.KindExternal, Query: d.Query, ListParams: app.ListParams{Limit: 20}})
		if err != nil && !isCode(err, access.CodeInvalid) {
			return err
		}
		d.Results = users.Items
		d.AccountNames = map[string]string{}
		for _, u := range d.Results {
			d.AccountNames[u.HomeAccount] = s.accountName(u.HomeAccount)
		}
	}
	recent, err := s.app.ListAudit(ctx, c, app.AuditFilter{Action: "portal.view_as", ListParams: app.ListParams{Limit: 10}})
	if err != nil {
		return err
	}
	for _, e := range recent.Items {
		d.Recent = append(d.Recent, s.auditNamed(auditRow{AuditEntry: e}))
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_viewas", p)
	return nil
}

type auditRow struct {
	store.AuditEntry
	BeforeText, AfterText string
	// ActorName and TargetName name a user or account ("" otherwise).
	ActorName, TargetName string
}

type auditData struct {
	roles
	Actor, Target, Action, Since, Until string
	Rows                                []auditRow
	Next, First                         string
	Verify                              *store.AuditVerification
}

// auditPage is the audit log's page size.
const auditPage = 50

// auditInputs map the fields of audit filter errors to the filter's inputs.
var auditInputs = map[string]string{"since": "audit_since", "until": "audit_until"}

// auditTime reads the audit log's since or until input: a date (a UTC
// day; until includes that day) or an RFC 3339 time; anything else is
// CodeInvalid with the input's Field.
func auditTime(key, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if key == "until" {
			d = d.AddDate(0, 0, 1)
		}
		d = d.UTC()
		return &d, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return nil, access.FieldErrorf(access.CodeInvalid, key, "%s must be an RFC 3339 time", key)
	}
	return &t, nil
}

func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func (s *Surface) handleAudit(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderAudit(w, r, c, nil)
}

// handleAuditVerify checks the hash chain and shows the result above the
// log.
func (s *Surface) handleAuditVerify(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.app.VerifyAudit(r.Context(), c)
	if err != nil {
		return err
	}
	return s.renderAudit(w, r, c, &v)
}

func (s *Surface) renderAudit(w http.ResponseWriter, r *http.Request, c *app.Actor, v *store.AuditVerification) error {
	q := r.URL.Query()
	d := auditData{roles: rolesOf(c), Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")),
		Action: strings.TrimSpace(q.Get("action")), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")), Verify: v}
	p := page(c, "Audit log", "audit")
	status := http.StatusOK
	f := app.AuditFilter{Actor: d.Actor, Target: d.Target, Action: d.Action, ListParams: app.ListParams{Limit: auditPage, Cursor: q.Get("cursor")}}
	var err error
	if f.Since, err = auditTime("since", d.Since); err == nil {
		f.Until, err = auditTime("until", d.Until)
	}
	if err == nil {
		var list app.Page[store.AuditEntry]
		list, err = s.app.ListAudit(r.Context(), c, f)
		for _, e := range list.Items {
			d.Rows = append(d.Rows, s.auditNamed(auditRow{AuditEntry: e, BeforeText: prettyJSON(e.Before), AfterText: prettyJSON(e.After)}))
		}
		base := url.Values{}
		for k, v := range map[string]string{"actor": d.Actor, "target": d.Target, "action": d.Action, "since": d.Since, "until": d.Until} {
			if v != "" {
				base.Set(k, v)
			}
		}
		d.Next, d.First = render.PageLinks("/admin/audit", base, q.Get("cursor"), list.Next)
	}
	if err != nil {
		st, ierr := render.FormError(p, err, auditInputs)
		if ierr != nil {
			return ierr
		}
		status, d.Rows = st, nil
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_audit", p)
	return nil
}
