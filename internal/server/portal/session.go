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

// loginData is what login.html receives.
type loginData struct {
	Email, Next string
	// AskPassword focuses the password: the email is not federated.
	AskPassword bool
}

func (s *Surface) handleLoginPage(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	p := &render.Page{Title: "Sign in", Data: loginData{Next: render.SafeNext(r.URL.Query().Get("next"))}}
	switch {
	case r.URL.Query().Get("reset") == "done":
		p.Flash = "Your password was changed. Sign in with the new one."
	case r.URL.Query().Get("expired") == "form":
		p.Flash = "Your session has expired. Sign in again to return to your form: what you typed is kept, except passwords and codes."
	case r.URL.Query().Get("expired") != "":
		p.Flash = "Your session has expired. Please sign in again."
	}
	s.rd.Render(w, r, http.StatusOK, "login", p)
	return nil
}

// handleLoginForm signs in (surface.SignIn: throttled, audited, a new
// session) and goes on to next, a path on this site. A wrong email and a
// wrong password get the same message.
//
// The email comes first (identity.md §7): an address whose domain signs in
// through an identity provider goes to /sso/<id>/start when no password
// was typed, or always when the provider disables local passwords; any
// other address without a password is asked for it.
func (s *Surface) handleLoginForm(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	email, pw, next := r.PostFormValue("email"), r.PostFormValue("password"), render.SafeNext(r.PostFormValue("next"))
	p, federated, err := s.app.ProviderForEmail(r.Context(), email)
	if err != nil {
		return err
	}
	if federated && (pw == "" || p.LocalPasswords == store.LocalPasswordsDisabled) {
		// A page that moves on by itself rather than a redirect: the
		// sign-in form's navigation may not leave the site (CSP
		// form-action 'self' holds across redirects), a refresh may.
		start := "/sso/" + url.PathEscape(p.ID) + "/start?" + url.Values{"next": {next}, "login_hint": {email}}.Encode()
		s.rd.Render(w, r, http.StatusOK, "sso_continue", &render.Page{Title: s.rd.T(r, nil, "Sign in with {{.Name}}", "Name", p.Name), Data: ssoOffer{Name: p.Name, URL: start}})
		return nil
	}
	if pw == "" {
		s.rd.Render(w, r, http.StatusOK, "login", &render.Page{Title: "Sign in", Errors: map[string]string{"password": "Enter your password."},
			Data: loginData{Email: email, Next: next, AskPassword: true}})
		return nil
	}
	res, err := surface.SignIn(w, r, s.app, email, pw)
	if err != nil {
		e := surface.DomainError(err)
		if e == nil {
			return err
		}
		msg := "Wrong email or password."
		switch e.Code {
		case access.CodeRateLimited, access.CodeUnavailable, access.CodeInvalid:
			msg = e.Message // too many attempts, busy, a password over 256 bytes
		}
		s.rd.Render(w, r, surface.Status(e.Code), "login", &render.Page{Title: "Sign in", Error: msg, Data: loginData{Email: email, Next: next}})
		return nil
	}
	s.afterSignIn(w, r, res, next)
	return nil
}

func (s *Surface) handleLogout(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if err := surface.SignOut(w, r, s.app, c); err != nil {
		return err
	}
	surface.ClearResumeCookie(w) // a form kept on this browser is not for the next user
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
