package portal

import (
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The pages a link in a message opens, and "Forgot password?": accepting
// an invitation (/invite/<token>), asking for a reset link (/forgot) and
// choosing a new password (/reset/<token>). They are public; an expired,
// used or revoked link shows one page (link_gone) that reveals nothing.

// credentialData is what invite.html and reset.html receive.
type credentialData struct {
	Action, Email, Name string
	// SSO, when set, is the identity provider of the email's domain: the
	// accept page offers "Continue with <provider>", and only that when
	// the provider disables local passwords.
	SSO *ssoOffer
}

// ssoOffer is a provider's button on the accept page.
type ssoOffer struct {
	Name, URL        string
	NoLocalPasswords bool
}

// ssoOfferFor returns the offer of email's provider, or nil.
func (s *Surface) ssoOfferFor(r *http.Request, email, token string) *ssoOffer {
	p, ok, err := s.app.ProviderForEmail(r.Context(), email)
	if err != nil || !ok {
		return nil
	}
	return &ssoOffer{Name: p.Name, URL: "/sso/" + url.PathEscape(p.ID) + "/start?invitation=" + url.QueryEscape(token),
		NoLocalPasswords: p.LocalPasswords == store.LocalPasswordsDisabled}
}

// mailRoutes are the public pages of mail links.
func (s *Surface) mailRoutes() []surface.Route {
	return []surface.Route{
		{Method: "GET", Pattern: "/invite/{token}", Public: true, Handle: s.handleInvitePage},
		{Method: "POST", Pattern: "/invite/{token}", Public: true, Handle: s.handleInviteForm},
		{Method: "GET", Pattern: "/forgot", Public: true, Handle: s.handleForgotPage},
		{Method: "POST", Pattern: "/forgot", Public: true, Handle: s.handleForgotForm},
		{Method: "GET", Pattern: "/reset/{token}", Public: true, Handle: s.handleResetPage},
		{Method: "POST", Pattern: "/reset/{token}", Public: true, Handle: s.handleResetForm},
	}
}

// linkGone renders the one page of an unusable link.
func (s *Surface) linkGone(w http.ResponseWriter, r *http.Request) error {
	s.rd.Render(w, r, http.StatusNotFound, "link_gone", &render.Page{Title: "This link no longer works"})
	return nil
}

func (s *Surface) handleInvitePage(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	info, err := s.app.InvitationByToken(r.Context(), r.PathValue("token"))
	if err != nil {
		return s.linkGone(w, r)
	}
	s.rd.Render(w, r, http.StatusOK, "invite", &render.Page{Title: "Accept your invitation", Errors: map[string]string{},
		Data: credentialData{Action: r.URL.Path, Email: info.Email, Name: info.Name, SSO: s.ssoOfferFor(r, info.Email, r.PathValue("token"))}})
	return nil
}

// handleInviteForm accepts the invitation (app.AcceptInvitation), signs
// the new user in and opens the portal.
func (s *Surface) handleInviteForm(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	token := r.PathValue("token")
	info, err := s.app.InvitationByToken(r.Context(), token)
	if err != nil {
		return s.linkGone(w, r)
	}
	name, pw, again := r.PostFormValue("name"), r.PostFormValue("password"), r.PostFormValue("confirm_password")
	p := &render.Page{Title: "Accept your invitation", Errors: map[string]string{},
		Data: credentialData{Action: r.URL.Path, Email: info.Email, Name: name, SSO: s.ssoOfferFor(r, info.Email, token)}}
	if pw != again {
		p.Errors["confirm_password"] = "The two passwords are not the same."
		s.rd.Render(w, r, http.StatusBadRequest, "invite", p)
		return nil
	}
	u, err := s.app.AcceptInvitation(r.Context(), app.AcceptInvitation{Token: token, Password: pw, Name: name})
	if err != nil {
		if access.ErrorCode(err) == access.CodeNotFound {
			return s.linkGone(w, r)
		}
		status, ierr := render.FormError(p, err, map[string]string{"password": "password", "name": "name"})
		if ierr != nil {
			return ierr
		}
		s.rd.Render(w, r, status, "invite", p)
		return nil
	}
	if err := surface.BeginSession(w, r, s.app, u); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// forgotData is what forgot.html receives.
type forgotData struct {
	Email string
	Sent  bool
	// SSO points an address whose domain signs in with single sign-on
	// only to its provider (the domain's setting, not the address's).
	SSO *ssoOffer
}

func (s *Surface) handleForgotPage(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	s.rd.Render(w, r, http.StatusOK, "forgot", &render.Page{Title: "Forgot your password?", Errors: map[string]string{},
		Data: forgotData{Email: r.URL.Query().Get("email")}})
	return nil
}

// handleForgotForm asks for a reset link (app.RequestPasswordReset) and
// says the same whether or not the address exists.
func (s *Surface) handleForgotForm(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	email := r.PostFormValue("email")
	if err := s.app.RequestPasswordReset(r.Context(), email, surface.ClientIP(r)); err != nil {
		return err
	}
	d := forgotData{Email: email, Sent: true}
	if p, ok, err := s.app.ProviderForEmail(r.Context(), email); err == nil && ok && p.LocalPasswords == store.LocalPasswordsDisabled {
		d.SSO = &ssoOffer{Name: p.Name, URL: "/sso/" + url.PathEscape(p.ID) + "/start?" + url.Values{"login_hint": {email}}.Encode()}
	}
	s.rd.Render(w, r, http.StatusOK, "forgot", &render.Page{Title: "Check your mail", Data: d})
	return nil
}

func (s *Surface) handleResetPage(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	u, err := s.app.ResetInfo(r.Context(), r.PathValue("token"))
	if err != nil {
		return s.linkGone(w, r)
	}
	s.rd.Render(w, r, http.StatusOK, "reset", &render.Page{Title: "Choose a new password", Errors: map[string]string{},
		Data: credentialData{Action: r.URL.Path, Email: u.Email}})
	return nil
}

// handleResetForm sets the new password (app.ResetPassword: every session
// ends) and sends the user to sign in with it.
func (s *Surface) handleResetForm(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	token := r.PathValue("token")
	u, err := s.app.ResetInfo(r.Context(), token)
	if err != nil {
		return s.linkGone(w, r)
	}
	pw, again := r.PostFormValue("password"), r.PostFormValue("confirm_password")
	p := &render.Page{Title: "Choose a new password", Errors: map[string]string{}, Data: credentialData{Action: r.URL.Path, Email: u.Email}}
	if pw != again {
		p.Errors["confirm_password"] = "The two passwords are not the same."
		s.rd.Render(w, r, http.StatusBadRequest, "reset", p)
		return nil
	}
	if _, err := s.app.ResetPassword(r.Context(), token, pw); err != nil {
		if access.ErrorCode(err) == access.CodeNotFound {
			return s.linkGone(w, r)
		}
		status, ierr := render.FormError(p, err, map[string]string{"password": "password"})
		if ierr != nil {
			return ierr
		}
		s.rd.Render(w, r, status, "reset", p)
		return nil
	}
	http.Redirect(w, r, "/login?reset=done", http.StatusSeeOther)
	return nil
}
