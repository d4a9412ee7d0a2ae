package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// The access checker: "can X do this to Y? why (not)? who can read Y?".
// It is the API's explain (the shared explain function and the engine's
// Explain) and viewers, in plain words: every path that allows the action,
// or every reason it is denied with the engine's sentence (a days-back
// denial names the record's date and the grant's cutoff date and is shown
// in its own box), the restricted fields visible and hidden with why, and
// every external user who can read the record with each path.

type admPathView struct {
	Kind, Text string
}

type admReasonView struct {
	Code, Title, Message string
}

type admViewerRow struct {
	ID, Name, Email, Home string
	Paths                 []admPathView
}

type admCheckData struct {
	adminBase
	Types []*policy.Type
	// The form, as typed.
	User, Type, ID, Action string
	// Subject is the resolved user, Record the record.
	Subject *access.User
	Record  *access.Record
	Checked bool
	Allowed bool
	Staff   bool
	Paths   []admPathView
	Reasons []admReasonView
	// DaysBack are the outside_days_back reasons, shown prominently.
	DaysBack    []admReasonView
	Visible     []string
	Hidden      []access.HiddenField
	Viewers     []admViewerRow
	MoreViewers int
	RecordURL   string
}

// admMaxViewers bounds the viewers listed.
const admMaxViewers = 100

var admReasonTitles = map[string]string{
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

// admDescribePath says in words how a path reaches the record.
func admDescribePath(pi access.PathInfo) string {
	acc := "read and write"
	if pi.Access == access.AccessRead {
		acc = "read only"
	}
	switch pi.Kind {
	case access.PathOwner:
		return fmt.Sprintf("The record's owner %s is covered by grant %s (role %s, %s).", pi.Account, pi.Grant, pi.Role, acc)
	case access.PathTeamAccount:
		return fmt.Sprintf("The record's team names account %s, covered by grant %s (role %s, %s).", pi.Account, pi.Grant, pi.Role, acc)
	case access.PathTeamUser:
		return fmt.Sprintf("The record's team names the user directly (with the user's highest role, %s; %s).", pi.Role, acc)
	case access.PathSharing:
		via := "its parent"
		if pi.Via != nil {
			via = fmt.Sprintf("its parent %s %s", pi.Via.Type, pi.Via.ID)
		}
		return fmt.Sprintf("Shared from %s, which the user reads through grant %s on %s (role %s; here %s).", via, pi.Grant, pi.Account, pi.Role, acc)
	}
	return fmt.Sprintf("%s path (role %s, %s)", pi.Kind, pi.Role, acc)
}

func (s *Server) handleAdminCheck(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	q := r.URL.Query()
	pol := s.engine.Policy()
	d := admCheckData{adminBase: admBaseOf(c), Types: pol.Types(), User: strings.TrimSpace(q.Get("user")),
		Type: q.Get("type"), ID: strings.TrimSpace(q.Get("id")), Action: q.Get("action")}
	if d.Action == "" {
		d.Action = policy.ActionRead
	}
	if d.Type == "" && len(d.Types) > 0 {
		d.Type = d.Types[0].Name
	}
	p := s.admPage(r, c, "Access checker", "check")
	status := http.StatusOK
	fail := func(field, msg string, st int) {
		p.Errors[field] = msg
		if p.Error == "" {
			p.Error = msg
		}
		status = st
	}
	ctx := r.Context()
	if d.ID != "" {
		if t := pol.Type(d.Type); t == nil {
			fail("check_type", "unknown object type "+d.Type, http.StatusBadRequest)
		} else if rec, err := s.store.GetRecord(ctx, d.Type, d.ID); err == nil {
			d.Record = rec
			d.RecordURL = "/admin/records/" + url.PathEscape(rec.Type) + "/" + url.PathEscape(rec.ID)
		} else if access.ErrorCode(err) == access.CodeNotFound {
			fail("check_id", fmt.Sprintf("there is no %s with id %s", d.Type, d.ID), http.StatusNotFound)
		} else {
			return err
		}
	}
	if d.User != "" {
		id, err := s.admResolveUser(r, d.User)
		if err == nil {
			u, _ := s.engine.User(id)
			d.Subject = &u
		} else if code := access.ErrorCode(err); code == access.CodeNotFound || code == access.CodeInvalid {
			fail("check_user", fmt.Sprintf("no user has the id or email %q", d.User), http.StatusNotFound)
		} else {
			return err
		}
	}
	if d.Subject != nil && d.Record != nil {
		x, _, err := s.explain(ctx, d.Subject.ID, d.Record.Type, d.Record.ID, d.Action)
		if err != nil {
			if _, ierr := formError(p, err, fieldHint{"action", "check_action"}); ierr != nil {
				return ierr
			}
			status = statusOf[access.ErrorCode(err)]
		} else {
			d.Checked, d.Allowed, d.Staff = true, x.Allowed, d.Subject.Kind == access.KindInternal
			for _, pi := range x.Paths {
				d.Paths = append(d.Paths, admPathView{Kind: pi.Kind, Text: admDescribePath(pi)})
			}
			for _, rs := range x.Reasons {
				rv := admReasonView{Code: rs.Code, Title: admReasonTitles[rs.Code], Message: admSentence(rs.Message)}
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
		src, err := s.source(ctx, d.Record)
		if err != nil {
			return err
		}
		for _, v := range s.engine.Viewers(d.Record, src) {
			if len(d.Viewers) == admMaxViewers {
				d.MoreViewers++
				continue
			}
			row := admViewerRow{ID: v.User}
			if u, ok := s.engine.User(v.User); ok {
				row.Name, row.Email, row.Home = u.Name, u.Email, u.HomeAccount
			}
			for _, pi := range v.Paths {
				row.Paths = append(row.Paths, admPathView{Kind: pi.Kind, Text: admDescribePath(pi)})
			}
			d.Viewers = append(d.Viewers, row)
		}
	}
	p.Data = d
	s.render(w, r, status, "admin_check", p)
	return nil
}

// admSentence starts an engine message with a capital letter.
func admSentence(msg string) string {
	if msg == "" {
		return msg
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}
