package admin

import (
	"io"
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The console's Invitations and Outbox pages: invite one user or a CSV
// (with a preview listing the errors per line before anything is sent),
// resend and revoke, send a password reset, and the outbox for admins and
// auditors.

func (s *Surface) mailRoutes(get, post func(string, surface.Handler) surface.Route) []surface.Route {
	return []surface.Route{
		get("/admin/invitations", s.handleInvitations),
		post("/admin/invitations", s.handleInviteForm),
		post("/admin/invitations/csv", s.handleInviteCSV),
		post("/admin/invitations/{id}/resend", s.handleResendForm),
		post("/admin/invitations/{id}/revoke", s.handleRevokeForm),
		post("/admin/users/{id}/password-reset", s.handleSendResetForm),
		get("/admin/outbox", s.handleOutboxPage),
	}
}

// invitationsData is what admin_invitations.html receives.
type invitationsData struct {
	roles
	Status string
	Items  []store.Invitation
	// Names name the items' home accounts and inviting users.
	Names map[string]string
	Next  string
	Roles []render.Choice
	Form  inviteForm
	// CSV preview: the lines, whether all are fine, the CSV to send.
	Lines   []render.CSVLine
	CSVOK   bool
	CSVText string
}

// inviteForm holds the inputs of the invite and CSV forms.
type inviteForm struct {
	Email, Name, HomeAccount, Role, DaysBack, Locale string
}

// inviteInputs place an invitation's errors next to their inputs.
var inviteInputs = map[string]string{"email": "inv_email", "name": "inv_name", "home_account": "inv_home",
	"grants[0].role": "inv_role", "grants[0].days_back": "inv_days_back", "grants[0].account": "inv_home", "locale": "inv_locale",
	"csv": "csv_file"}

func (s *Surface) renderInvitations(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, d *invitationsData, status int) error {
	d.roles = rolesOf(c)
	d.Status = r.URL.Query().Get("status")
	page, err := s.app.ListInvitations(r.Context(), c, app.InvitationFilter{Status: d.Status, User: r.URL.Query().Get("user"),
		Account: r.URL.Query().Get("account"), ListParams: app.ListParams{Limit: 100, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		if st, lerr := listError(p, err); lerr == nil {
			status = st
		} else {
			return lerr
		}
	}
	d.Items = page.Items
	d.Names = map[string]string{}
	for _, inv := range d.Items {
		d.Names[inv.HomeAccount] = s.accountName(inv.HomeAccount)
		d.Names[inv.CreatedBy] = s.refName(inv.CreatedBy)
	}
	if page.Next != "" {
		d.Next = "/admin/invitations?status=" + d.Status + "&cursor=" + page.Next
	}
	for _, role := range s.app.Engine().Policy().Roles() {
		if role.Assignable && !role.Protected {
			d.Roles = append(d.Roles, render.Choice{Value: role.Name, Label: role.Name + " · " + role.Title, Selected: role.Name == d.Form.Role})
		}
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_invitations", p)
	return nil
}

func (s *Surface) handleInvitations(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderInvitations(w, r, c, page(c, "Invitations", "invitations"), &invitationsData{}, http.StatusOK)
}

func formInvite(r *http.Request) (inviteForm, app.InvitationRequest) {
	f := inviteForm{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), HomeAccount: r.PostFormValue("home_account"),
		Role: r.PostFormValue("role"), DaysBack: r.PostFormValue("days_back"), Locale: r.PostFormValue("locale")}
	in := app.InvitationRequest{Email: f.Email, Name: f.Name, HomeAccount: f.HomeAccount, Locale: f.Locale}
	if f.Role != "" {
		g := app.InvitationGrant{Account: f.HomeAccount, Role: f.Role}
		if f.DaysBack != "" {
			if d, err := strconv.Atoi(f.DaysBack); err == nil {
				g.DaysBack = &d
			} else {
				d = -1
				g.DaysBack = &d
			}
		}
		in.Grants = []app.InvitationGrant{g}
	}
	return f, in
}

// handleInviteForm invites one user with one grant on its home account.
func (s *Surface) handleInviteForm(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	f, in := formInvite(r)
	if _, _, err := s.app.Invite(r.Context(), c, in); err != nil {
		p := page(c, "Invitations", "invitations")
		status, ierr := render.FormError(p, err, inviteInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderInvitations(w, r, c, p, &invitationsData{Form: f}, status)
	}
	render.RedirectDone(w, r, "/admin/invitations", "invitation_sent")
	return nil
}

// handleInviteCSV previews a CSV (step "preview": the errors per line,
// nothing sent) or sends it (step "send": all or nothing).
func (s *Surface) handleInviteCSV(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	p := page(c, "Invitations", "invitations")
	f := inviteForm{HomeAccount: r.FormValue("home_account"), Locale: r.FormValue("locale")}
	if err := r.ParseMultipartForm(4 << 20); err != nil && err != http.ErrNotMultipart {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	f.HomeAccount, f.Locale = r.FormValue("home_account"), r.FormValue("locale")
	text := r.FormValue("csv")
	if file, _, err := r.FormFile("csv_file"); err == nil {
		b, rerr := io.ReadAll(io.LimitReader(file, 4<<20))
		file.Close()
		if rerr != nil {
			return access.Errorf(access.CodeInvalid, "the file could not be read")
		}
		text = string(b)
	}
	d := &invitationsData{Form: f, CSVText: text}
	fail := func(err error) error {
		status, ierr := render.FormError(p, err, inviteInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderInvitations(w, r, c, p, d, status)
	}
	reqs, lines, err := render.InvitationCSV(text, f.HomeAccount, f.Locale)
	if err != nil {
		return fail(err)
	}
	items, err := s.app.PreviewInvitations(r.Context(), c, reqs)
	if err != nil {
		return fail(err)
	}
	d.Lines, d.CSVOK = lines, render.MarkCSV(lines, items)
	if r.FormValue("step") != "send" || !d.CSVOK {
		return s.renderInvitations(w, r, c, p, d, http.StatusOK)
	}
	if _, _, err := s.app.InviteBatch(r.Context(), c, reqs); err != nil {
		if e, ok := err.(*access.Error); ok && len(e.Items) > 0 {
			d.CSVOK = render.MarkCSV(lines, e.Items)
		}
		return fail(err)
	}
	render.RedirectDone(w, r, "/admin/invitations", "invitation_sent")
	return nil
}

func (s *Surface) handleResendForm(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if _, _, err := s.app.ResendInvitation(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/invitations", "invitation_resent")
	return nil
}

func (s *Surface) handleRevokeForm(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if _, err := s.app.RevokeInvitation(r.Context(), c, r.PathValue("id")); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/invitations", "invitation_revoked")
	return nil
}

// handleSendResetForm sends a user a password reset link.
func (s *Surface) handleSendResetForm(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	id := r.PathValue("id")
	if _, err := s.app.SendPasswordReset(r.Context(), c, id); err != nil {
		return err
	}
	render.RedirectDone(w, r, "/admin/users/"+id, "reset_sent")
	return nil
}

// outboxData is what admin_outbox.html receives.
type outboxData struct {
	Status string
	Items  []app.OutboxItem
	Next   string
}

func (s *Surface) handleOutboxPage(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	p := page(c, "Outbox", "outbox")
	d := &outboxData{Status: r.URL.Query().Get("status")}
	status := http.StatusOK
	pg, err := s.app.ListOutbox(r.Context(), c, app.OutboxFilter{Status: d.Status, ListParams: app.ListParams{Limit: 50, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		st, lerr := listError(p, err)
		if lerr != nil {
			return lerr
		}
		status = st
	}
	d.Items = pg.Items
	if pg.Next != "" {
		d.Next = "/admin/outbox?status=" + d.Status + "&cursor=" + pg.Next
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_outbox", p)
	return nil
}
