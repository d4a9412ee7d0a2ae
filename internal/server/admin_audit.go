package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// View as and the audit log.
//
// View as: the console's entry point /admin/view-as picks an external user
// (search, or ?user=<id or email>), writes one audit entry (action
// "portal.view_as", actor the staff user's id as in every data change,
// target "user:<id>", after {"account": ...}) and redirects to the
// read-only portal under /admin/view-as/<id>/a/<account>/, which the portal
// serves with its banner. Pages viewed there are not logged one by one:
// the entry point is the audited act. It is a GET so auditors, who read
// everything, may use it too.

type admViewAsData struct {
	adminBase
	Query   string
	User    string
	Results []access.User
	Recent  []store.AuditEntry
}

func (s *Server) handleAdminViewAs(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	q := r.URL.Query()
	d := admViewAsData{adminBase: admBaseOf(c), Query: strings.TrimSpace(q.Get("q")), User: strings.TrimSpace(q.Get("user"))}
	p := s.admPage(r, c, "View as", "view-as")
	status := http.StatusOK
	if d.User != "" {
		id, err := s.admResolveUser(r, d.User)
		var u access.User
		if err == nil {
			u, _ = s.engine.User(id)
			if u.Kind != access.KindExternal {
				err = access.Errorf(access.CodeInvalid, "%s is staff: view as shows the portal of external users", u.ID)
			}
		} else if code := access.ErrorCode(err); code == access.CodeNotFound || code == access.CodeInvalid {
			err = access.Errorf(access.CodeNotFound, "no user has the id or email %q", d.User)
		}
		var accts []access.AccountAccess
		if err == nil {
			if accts = s.engine.Reach(u.ID); len(accts) == 0 {
				err = access.Errorf(access.CodeConflict, "%s reaches no account now (no active grant), so there is no portal to show", u.ID)
			}
		}
		if err != nil {
			st, ierr := formError(p, err, fieldHint{"", "viewas_user"})
			if ierr != nil {
				return ierr
			}
			status = st
		} else {
			acct := preferredAccount(u, accts)
			after, _ := json.Marshal(map[string]string{"account": acct})
			if err := s.store.Log(r.Context(), store.AuditEntry{Time: s.engine.Now(), Actor: c.user.ID, Action: "portal.view_as",
				Target: "user:" + u.ID, After: after}); err != nil {
				return err
			}
			http.Redirect(w, r, "/admin/view-as/"+url.PathEscape(u.ID)+"/a/"+url.PathEscape(acct)+"/", http.StatusSeeOther)
			return nil
		}
	}
	if d.Query != "" {
		users, _, err := s.store.ListUsers(r.Context(), store.UserFilter{Kind: access.KindExternal, Query: d.Query, Limit: 20})
		if err != nil && access.ErrorCode(err) != access.CodeInvalid {
			return err
		}
		d.Results = users
	}
	recent, _, err := s.store.ListAudit(r.Context(), store.AuditFilter{Action: "portal.view_as", Limit: 10})
	if err != nil {
		return err
	}
	d.Recent = recent
	p.Data = d
	s.render(w, r, status, "admin_viewas", p)
	return nil
}

type admAuditRow struct {
	store.AuditEntry
	BeforeText, AfterText string
}

type admAuditData struct {
	adminBase
	Actor, Target, Action, Since, Until string
	Rows                                []admAuditRow
	Next, First                         string
	Verify                              *store.AuditVerification
}

// admAuditPage is the audit log's page size.
const admAuditPage = 50

// admAuditTime turns a date input (a UTC day) or an RFC 3339 time into the
// API's RFC 3339 filter value. "until" with a day includes that day.
func admAuditTime(v string, until bool) string {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if until {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC().Format(time.RFC3339)
	}
	return v
}

func admPrettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	return s.admRenderAudit(w, r, c, nil)
}

// handleAdminAuditVerify checks the hash chain and shows the result above
// the log.
func (s *Server) handleAdminAuditVerify(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	v, err := s.store.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	return s.admRenderAudit(w, r, c, &v)
}

func (s *Server) admRenderAudit(w http.ResponseWriter, r *http.Request, c *caller, v *store.AuditVerification) error {
	q := r.URL.Query()
	d := admAuditData{adminBase: admBaseOf(c), Actor: strings.TrimSpace(q.Get("actor")), Target: strings.TrimSpace(q.Get("target")),
		Action: strings.TrimSpace(q.Get("action")), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")), Verify: v}
	p := s.admPage(r, c, "Audit log", "audit")
	status := http.StatusOK
	api := url.Values{"actor": {d.Actor}, "target": {d.Target}, "action": {d.Action}}
	if d.Since != "" {
		api.Set("since", admAuditTime(d.Since, false))
	}
	if d.Until != "" {
		api.Set("until", admAuditTime(d.Until, true))
	}
	f, err := auditFilter(api)
	if err == nil {
		f.Limit, f.Cursor = admAuditPage, q.Get("cursor")
		var entries []store.AuditEntry
		var next string
		entries, next, err = s.store.ListAudit(r.Context(), f)
		for _, e := range entries {
			d.Rows = append(d.Rows, admAuditRow{AuditEntry: e, BeforeText: admPrettyJSON(e.Before), AfterText: admPrettyJSON(e.After)})
		}
		base := url.Values{}
		for k, v := range map[string]string{"actor": d.Actor, "target": d.Target, "action": d.Action, "since": d.Since, "until": d.Until} {
			if v != "" {
				base.Set(k, v)
			}
		}
		if next != "" {
			nq := cloneValues(base)
			nq.Set("cursor", next)
			d.Next = "/admin/audit?" + nq.Encode()
		}
		if q.Get("cursor") != "" {
			d.First = "/admin/audit?" + base.Encode()
		}
	}
	if err != nil {
		st, ierr := formError(p, err, fieldHint{"since", "audit_since"}, fieldHint{"until", "audit_until"})
		if ierr != nil {
			return ierr
		}
		status, d.Rows = st, nil
	}
	p.Data = d
	s.render(w, r, status, "admin_audit", p)
	return nil
}
