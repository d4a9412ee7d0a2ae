package portal

import (
	"encoding/base64"
	"html/template"
	"net/http"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Two-factor authentication in the browser (identity.md §6): the second
// sign-in step, and enrolment, recovery codes and turning it off on the
// profile page, for portal users and staff alike. A session restricted to
// enrolment reaches the profile page and these forms only.

func (s *Surface) mfaRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/login/mfa", Public: true, Handle: s.handleLoginMFA},
		{Method: "POST", Pattern: "/profile/mfa/totp", MFAEnrol: true, Handle: s.handleStartTOTP},
		{Method: "POST", Pattern: "/profile/mfa/confirm", MFAEnrol: true, Handle: s.handleConfirmTOTP},
		{Method: "POST", Pattern: "/profile/mfa/disable", Handle: s.handleDisableMFA},
	}
}

// loginMFAData is what login_mfa.html receives.
type loginMFAData struct {
	Token, Next string
	Recovery    bool // the form asks for a recovery code
}

// afterSignIn continues a successful sign-in step: to the second step, to
// the enrolment a session restricted to it must do first, or to next.
func (s *Surface) afterSignIn(w http.ResponseWriter, r *http.Request, res app.SignInResult, next string) {
	switch {
	case res.MFAToken != "":
		s.rd.Render(w, r, http.StatusOK, "login_mfa", &render.Page{Title: "Two-factor authentication", Errors: map[string]string{},
			Data: loginMFAData{Token: res.MFAToken, Next: next}})
	case res.MFAEnrol:
		http.Redirect(w, r, "/profile?mfa=enrol", http.StatusSeeOther)
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// handleLoginMFA is the second sign-in step: a code from the authenticator
// app, or a recovery code. A wrong code asks again with the same token; an
// expired or exhausted token goes back to the first step.
func (s *Surface) handleLoginMFA(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	in := app.MFASignIn{Token: r.PostFormValue("mfa_token"), Code: r.PostFormValue("code"), RecoveryCode: r.PostFormValue("recovery_code")}
	d := loginMFAData{Token: in.Token, Next: render.SafeNext(r.PostFormValue("next")), Recovery: r.PostFormValue("recovery") == "1"}
	if in.RecoveryCode != "" {
		in.Code = ""
	}
	res, err := surface.SignInMFA(w, r, s.app, in)
	if err != nil {
		e := surface.DomainError(err)
		if e == nil {
			return err
		}
		if e.Field == "mfa_token" {
			s.rd.Render(w, r, surface.Status(e.Code), "login", &render.Page{Title: "Sign in", Error: "Your sign-in has expired. Please sign in again.",
				Data: loginData{Next: d.Next}})
			return nil
		}
		input := "code"
		if d.Recovery {
			input = "recovery_code"
		}
		s.rd.Render(w, r, surface.Status(e.Code), "login_mfa", &render.Page{Title: "Two-factor authentication", Error: e.Message,
			Errors: map[string]string{input: e.Message}, Data: d})
		return nil
	}
	s.afterSignIn(w, r, res, d.Next)
	return nil
}

// mfaData is the profile page's two-factor section.
type mfaData struct {
	Status app.MFAStatus
	// MustEnrol is set for a session restricted to enrolment.
	MustEnrol bool
	// Enrolment is a pending enrolment to confirm: its secret and QR code.
	Enrolment *app.TOTPEnrolment
	QR        template.URL // data: URL of the QR code PNG
	// RecoveryCodes are shown once, right after enrolment.
	RecoveryCodes []string
}

func (s *Surface) mfaData(r *http.Request, c *app.Actor) mfaData {
	d := mfaData{MustEnrol: c.MFAEnrolOnly}
	st, err := s.app.GetMFAStatus(r.Context(), c, c.ID())
	if err != nil {
		s.log.Warn("mfa status", "user", c.ID(), "err", err)
	}
	d.Status = st
	if st.Pending {
		if e, err := s.app.PendingTOTP(r.Context(), c); err == nil {
			d.withEnrolment(e)
		}
	}
	return d
}

// withEnrolment shows e with its QR code, a PNG in a data: URL (the CSP
// allows img-src data:).
func (d *mfaData) withEnrolment(e app.TOTPEnrolment) {
	d.Enrolment = &e
	if png, err := qrcode.Encode(e.OTPAuthURL, qrcode.Medium, 240); err == nil {
		d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
}

func (s *Surface) handleStartTOTP(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if _, err := s.app.StartTOTP(r.Context(), c); err != nil {
		return err
	}
	s.rd.Render(w, r, http.StatusOK, "profile", s.profilePage(r, c))
	return nil
}

// handleConfirmTOTP turns TOTP on with the first code and shows the
// recovery codes, this once; a session restricted to enrolment becomes a
// full one.
func (s *Surface) handleConfirmTOTP(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	res, err := s.app.ConfirmTOTP(r.Context(), c, app.TOTPConfirm{Code: r.PostFormValue("code"), IP: surface.ClientIP(r)})
	if err != nil {
		e := surface.DomainError(err)
		if e == nil || (e.Field != "code" && e.Code != access.CodeConflict) {
			return err
		}
		p := s.profilePage(r, c)
		p.Error = s.rd.T(r, &c.User, "Two-factor authentication is not on yet: {{.Reason}}", "Reason", s.rd.T(r, &c.User, e.Message))
		p.Errors["totp_code"] = e.Message
		s.rd.Render(w, r, surface.Status(e.Code), "profile", p)
		return nil
	}
	surface.ReplaceSession(w, r, res.Session)
	if res.Session != nil {
		c.MFAEnrolOnly = false
	}
	p := s.profilePage(r, c)
	d := p.Data.(profileData)
	d.MFA.RecoveryCodes = res.RecoveryCodes
	p.Data = d
	p.Flash = "Two-factor authentication is on. Keep your recovery codes somewhere safe: they are shown only now."
	s.rd.Render(w, r, http.StatusOK, "profile", p)
	return nil
}

func (s *Surface) handleDisableMFA(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	_, err := s.app.DisableMFA(r.Context(), c, app.MFADisable{Password: r.PostFormValue("mfa_password"), Code: r.PostFormValue("mfa_code"), IP: surface.ClientIP(r)})
	if err != nil {
		e := surface.DomainError(err)
		if e == nil {
			return err
		}
		p := s.profilePage(r, c)
		p.Error = s.rd.T(r, &c.User, "Two-factor authentication is still on: {{.Reason}}", "Reason", s.rd.T(r, &c.User, e.Message))
		switch e.Field {
		case "password":
			p.Errors["mfa_password"] = e.Message
		case "code", "recovery_code":
			p.Errors["mfa_code"] = e.Message
		}
		s.rd.Render(w, r, surface.Status(e.Code), "profile", p)
		return nil
	}
	render.RedirectDone(w, r, "/profile", "mfa_off")
	return nil
}
