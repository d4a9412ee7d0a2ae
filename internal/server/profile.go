package server

import (
	"net/http"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
)

// The profile page (/profile) shows who is signed in and changes its
// password; it serves portal users and staff alike. Decisions where
// DESIGN.md is silent:
//
//   - Changing the password needs the current one, the new one twice, and
//     the password rules of auth.ValidatePassword (the API's rules: the
//     new password is stored through storePassword).
//   - A wrong current password counts as a failed sign-in for the login
//     throttle (per email and client address): the form must not be a
//     faster way to guess a password than the sign-in page.
//   - The store ends every session of the user when the password changes;
//     the browser that changed it gets a fresh session at once, so only
//     the other sessions end.
//   - View as has no profile: /profile is always the signed-in user's.

// profileData is what profile.html receives.
type profileData struct {
	Home      string // the home account's name, for external users
	StaffRole string
}

// profilePage builds the frame: the console's navigation for staff, the
// portal's for external users (at their preferred account).
func (s *Server) profilePage(r *http.Request, c *caller) *page {
	var p *page
	if c.internal() {
		p = &page{Title: "Profile", User: &c.user, Nav: adminNav("")}
	} else {
		pc := &portalCtx{caller: c, subject: c.user, policy: s.engine.Policy(), engine: s.engine, accounts: s.engine.Reach(c.user.ID)}
		if len(pc.accounts) > 0 {
			id := preferredAccount(c.user, pc.accounts)
			for i := range pc.accounts {
				if pc.accounts[i].ID == id {
					pc.current = &pc.accounts[i]
				}
			}
		}
		p = pc.page("Profile", "")
	}
	p.Errors = map[string]string{}
	d := profileData{StaffRole: c.user.StaffRole}
	if a, ok := s.engine.Account(c.user.HomeAccount); ok {
		d.Home = a.Name
	}
	p.Data = d
	return p
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request, c *caller) error {
	s.render(w, r, http.StatusOK, "profile", s.profilePage(r, c))
	return nil
}

// handleProfilePassword changes the signed-in user's password.
func (s *Server) handleProfilePassword(w http.ResponseWriter, r *http.Request, c *caller) error {
	current, next, again := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("confirm_password")
	p := s.profilePage(r, c)
	fail := func(status int, field, msg string) error {
		p.Errors[field], p.Error = msg, "Your password was not changed: "+msg
		s.render(w, r, status, "profile", p)
		return nil
	}
	email, ip, now := strings.ToLower(c.user.Email), clientIP(r), s.engine.Now()
	if ok, retry := s.throttle.Allow(email, ip, now); !ok {
		return fail(http.StatusTooManyRequests, "current_password",
			access.Errorf(access.CodeRateLimited, "too many wrong passwords; try again in %d seconds", int(retry.Seconds())+1).Message)
	}
	hash, err := s.store.PasswordHash(r.Context(), c.user.ID)
	if err != nil {
		return err
	}
	ok := false
	if hash != "" {
		s.hashing <- struct{}{} // bound concurrent argon2 work, as at sign-in
		ok, _ = auth.VerifyPassword(hash, current)
		<-s.hashing
	}
	if !ok {
		s.throttle.Failure(email, ip, now)
		return fail(http.StatusForbidden, "current_password", "This is not your current password.")
	}
	if next != again {
		return fail(http.StatusBadRequest, "confirm_password", "The two new passwords are not the same.")
	}
	if _, err := s.storePassword(r.Context(), c.user.ID, c.user.ID, next); err != nil {
		if e, ok := err.(*access.Error); ok && e.Code == access.CodeInvalid {
			return fail(http.StatusBadRequest, "new_password", e.Message)
		}
		return err
	}
	s.throttle.Success(email, ip)
	if err := s.startSession(w, r, c.user); err != nil {
		return err
	}
	http.Redirect(w, r, "/profile?done=password", http.StatusSeeOther)
	return nil
}
