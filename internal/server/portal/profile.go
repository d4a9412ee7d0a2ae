package portal

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The profile page (decisions in doc.go): who is signed in, and its
// password change.

// profileData is what profile.html receives.
type profileData struct {
	Home      string // the home account's name, for external users
	StaffRole string
	MFA       mfaData
	// Locales are the language switch's choices.
	Locales []render.Choice
}

// profilePage builds the frame: the console's navigation for staff, the
// portal's for external users (at their preferred account).
func (s *Surface) profilePage(r *http.Request, c *app.Actor) *render.Page {
	var p *render.Page
	if c.Internal() {
		p = &render.Page{Title: "Profile", User: &c.User, Nav: render.AdminNav("")}
	} else {
		v := s.viewOf(c, app.PortalView{Subject: c.User, Accounts: s.app.Me(c)})
		if len(v.accounts) > 0 {
			v.current = v.account(app.PreferredAccount(c.User, v.accounts))
		}
		p = v.page("Profile", "")
	}
	p.Errors = map[string]string{}
	d := profileData{StaffRole: c.User.StaffRole}
	if a, ok := s.app.Engine().Account(c.User.HomeAccount); ok {
		d.Home = a.Name
	}
	d.MFA = s.mfaData(r, c)
	d.Locales = render.LocaleChoices(c.User.Locale)
	p.Data = d
	return p
}

// handleProfileLocale is the profile's language switch: it saves the
// user's locale through the user update use case (a user may change its
// own locale) and shows the profile again in that language.
func (s *Surface) handleProfileLocale(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	l := r.PostFormValue("locale")
	if _, _, _, err := s.app.PutUser(r.Context(), c, c.ID(), app.UserUpdate{Locale: app.Some(l)}, false); err != nil {
		p := s.profilePage(r, c)
		status, ierr := render.FormError(p, err, map[string]string{"locale": "profile_locale"})
		if ierr != nil {
			return ierr
		}
		s.rd.Render(w, r, status, "profile", p)
		return nil
	}
	render.RedirectDone(w, r, "/profile", "locale")
	return nil
}

func (s *Surface) handleProfile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	s.rd.Render(w, r, http.StatusOK, "profile", s.profilePage(r, c))
	return nil
}

// handleProfilePassword changes the signed-in user's password
// (app.SetPassword with the current one) and gives this browser a fresh
// session.
func (s *Surface) handleProfilePassword(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	current, next, again := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	p := s.profilePage(r, c)
	fail := func(status int, input, msg string) error {
		p.Errors[input], p.Error = msg, s.rd.T(r, &c.User, "Your password was not changed: {{.Reason}}", "Reason", s.rd.T(r, &c.User, msg))
		s.rd.Render(w, r, status, "profile", p)
		return nil
	}
	if next != again {
		return fail(http.StatusBadRequest, "confirm_password", "The two new passwords are not the same.")
	}
	_, err := s.app.SetPassword(r.Context(), c, c.ID(), app.PasswordChange{Password: next, CurrentPassword: current, IP: surface.ClientIP(r)})
	if err != nil {
		e := surface.DomainError(err)
		switch {
		case e == nil:
			return err
		case e.Code == access.CodeRateLimited:
			return fail(surface.Status(e.Code), "current_password", e.Message)
		case e.Code == access.CodeForbidden && e.Field == "current_password":
			return fail(surface.Status(e.Code), "current_password", "This is not your current password.")
		case e.Code == access.CodeInvalid && e.Field == "password":
			return fail(surface.Status(e.Code), "new_password", e.Message)
		}
		return err
	}
	secret, expires, err := s.app.StartSession(r.Context(), c.User)
	if err != nil {
		return err
	}
	surface.SetSessionCookie(w, r, secret, expires)
	http.Redirect(w, r, "/profile?done=password", http.StatusSeeOther)
	return nil
}
