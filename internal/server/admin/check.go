package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The access checker: "can X do this to Y? why (not)? who can read Y?".
// It is the API's explain and viewers (app.Explain, app.Viewers) in plain
// words: every path that allows the action, or every reason it is denied
// with the engine's sentence (a days-back denial names the record's date
// and the grant's cutoff date and is shown in its own box), the restricted
// fields visible and hidden with why, and every external user who can read
// the record with each path.

type pathView struct {
	Kind, Text string
}

type reasonView struct {
	Code, Title, Message string
}

type viewerRow struct {
	ID, Name, Email, Home string
	HomeName              string
	Paths                 []pathView
}

type checkData struct {
	roles
	Types []*policy.Type
	// The form, as typed.
	User, Type, ID, Action string
	// Subject is the resolved user, Record the record.
	Subject *access.User
	Record  *access.Record
	Checked bool
	Allowed bool
	Staff   bool
	Paths   []pathView
	Reasons []reasonView
	// DaysBack are the outside_days_back reasons, shown prominently.
	DaysBack    []reasonView
	Visible     []string
	Hidden      []access.HiddenField
	Viewers     []viewerRow
	MoreViewers int
	RecordURL   string
}

// maxViewers bounds the viewers listed; the others are counted.
const maxViewers = 100

// checkInputs map the fields of explain errors to the checker's inputs.
var checkInputs = map[string]string{"action": "check_action"}

var reasonTitles = map[string]string{
	access.ReasonUserDisabled:        "User disabled",
	access.ReasonUserInvited:         "User invited, not active yet",
	access.ReasonNoOwner:             "No owner",
	access.ReasonNoGrant:             "No grant",
	access.ReasonGrantInactive:       "Grant not valid now",
	access.ReasonExternalAccessOff:   "External users not allowed",
	access.ReasonChainBroken:         "Chain broken",
	access.ReasonOutsideDaysBack:     "Outside days back",
	access.ReasonRoleLacksPermission: "Role lacks permission",
	access.ReasonOwnScopeNotCreator:  "Only records the user created",
	access.ReasonReadOnlyAccess:      "Read-only access",
}

// describePath says in words how a path reaches the record, with tr
// translating the catalog's messages.
func describePath(tr func(id string, args ...any) string, pi access.PathInfo) string {
	acc := tr("read and write")
	if pi.Access == access.AccessRead {
		acc = tr("read only")
	}
	switch pi.Kind {
	case access.PathOwner:
		return tr("The record's owner {{.Account}} is covered by grant {{.Grant}} (role {{.Role}}, {{.Access}}).",
			"Account", pi.Account, "Grant", pi.Grant, "Role", pi.Role, "Access", acc)
	case access.PathTeamAccount:
		return tr("The record's team names account {{.Account}}, covered by grant {{.Grant}} (role {{.Role}}, {{.Access}}).",
			"Account", pi.Account, "Grant", pi.Grant, "Role", pi.Role, "Access", acc)
	case access.PathTeamUser:
		return tr("The record's team names the user directly (with the user's highest role, {{.Role}}; {{.Access}}).", "Role", pi.Role, "Access", acc)
	case access.PathSharing:
		via := tr("its parent")
		if pi.Via != nil {
			via = tr("its parent {{.Type}} {{.ID}}", "Type", pi.Via.Type, "ID", pi.Via.ID)
		}
		return tr("Shared from {{.Via}}, which the user reads through grant {{.Grant}} on {{.Account}} (role {{.Role}}; here {{.Access}}).",
			"Via", via, "Grant", pi.Grant, "Account", pi.Account, "Role", pi.Role, "Access", acc)
	}
	return fmt.Sprintf("%s (%s, %s)", pi.Kind, pi.Role, acc)
}

func (s *Surface) handleCheck(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	tr := func(id string, args ...any) string { return s.rd.T(r, &c.User, id, args...) }
	q := r.URL.Query()
	eng := s.app.Engine()
	pol := eng.Policy()
	d := checkData{roles: rolesOf(c), Types: pol.Types(), User: strings.TrimSpace(q.Get("user")),
		Type: q.Get("type"), ID: strings.TrimSpace(q.Get("id")), Action: q.Get("action")}
	if d.Action == "" {
		d.Action = policy.ActionRead
	}
	if d.Type == "" && len(d.Types) > 0 {
		d.Type = d.Types[0].Name
	}
	p := page(c, "Access checker", "check")
	status := http.StatusOK
	fail := func(input, msg string, st int) {
		p.Errors[input] = msg
		if p.Error == "" {
			p.Error = msg
		}
		status = st
	}
	ctx := r.Context()
	if d.ID != "" {
		if pol.Type(d.Type) == nil {
			fail("check_type", "unknown object type "+d.Type, http.StatusBadRequest)
		} else if rec, _, err := s.app.GetRecord(ctx, c, d.Type, d.ID, ""); err == nil {
			d.Record = rec
			d.RecordURL = "/admin/records/" + url.PathEscape(rec.Type) + "/" + url.PathEscape(rec.ID)
		} else if isCode(err, access.CodeNotFound) {
			fail("check_id", fmt.Sprintf("there is no %s with id %s", d.Type, d.ID), http.StatusNotFound)
		} else {
			return err
		}
	}
	if d.User != "" {
		id, err := s.app.ResolveUser(ctx, c, d.User)
		if err == nil {
			u, _ := eng.User(id)
			d.Subject = &u
		} else if isCode(err, access.CodeNotFound, access.CodeInvalid) {
			fail("check_user", fmt.Sprintf("no user has the id or email %q", d.User), http.StatusNotFound)
		} else {
			return err
		}
	}
	if d.Subject != nil && d.Record != nil {
		x, _, err := s.app.Explain(ctx, c, app.ExplainRequest{User: d.Subject.ID, Type: d.Record.Type, ID: d.Record.ID, Action: d.Action})
		if err != nil {
			st, ierr := render.FormError(p, err, checkInputs)
			if ierr != nil {
				return ierr
			}
			status = st
		} else {
			d.Checked, d.Allowed, d.Staff = true, x.Allowed, d.Subject.Kind == access.KindInternal
			for _, pi := range x.Paths {
				d.Paths = append(d.Paths, pathView{Kind: pi.Kind, Text: describePath(tr, pi)})
			}
			for _, rs := range x.Reasons {
				rv := reasonView{Code: rs.Code, Title: reasonTitles[rs.Code], Message: sentence(rs.Message)}
				if rv.Title == "" {
					rv.Title = rs.Code
				}
				d.Reasons = append(d.Reasons, rv)
				if rs.Code == access.ReasonOutsideDaysBack {
					d.DaysBack = append(d.DaysBack, rv)
				}
			}
			d.Visible, d.Hidden = x.Fields.Visible, x.Fields.Hidden
		}
	}
	if d.Record != nil {
		if err := s.viewers(r, c, &d); err != nil {
			return err
		}
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_check", p)
	return nil
}

// viewers lists the first maxViewers users who can read d.Record, with
// their paths, and counts the others.
func (s *Surface) viewers(r *http.Request, c *app.Actor, d *checkData) error {
	tr := func(id string, args ...any) string { return s.rd.T(r, &c.User, id, args...) }
	eng := s.app.Engine()
	lp := app.ListParams{Limit: maxViewers}
	for {
		vp, err := s.app.Viewers(r.Context(), c, d.Record.Type, d.Record.ID, lp)
		if err != nil {
			return err
		}
		for _, v := range vp.Items {
			if len(d.Viewers) == maxViewers {
				d.MoreViewers++
				continue
			}
			row := viewerRow{ID: v.User}
			if u, ok := eng.User(v.User); ok {
				row.Name, row.Email, row.Home, row.HomeName = u.Name, u.Email, u.HomeAccount, s.accountName(u.HomeAccount)
			}
			for _, pi := range v.Paths {
				row.Paths = append(row.Paths, pathView{Kind: pi.Kind, Text: describePath(tr, pi)})
			}
			d.Viewers = append(d.Viewers, row)
		}
		if vp.Next == "" {
			return nil
		}
		// The rest are only counted: take them in the largest pages.
		lp = app.ListParams{Limit: store.MaxListLimit, Cursor: vp.Next}
	}
}

// sentence starts an engine message with a capital letter.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}
