package surface

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

// BeginSession starts a session for u, who has just proved itself
// otherwise than by signing in (an accepted invitation): it ends the
// session the browser had and sets the new one's cookie.
func BeginSession(w http.ResponseWriter, r *http.Request, a *app.App, u access.User) error {
	if old := SessionSecret(r); old != "" {
		_ = a.EndSession(r.Context(), old)
	}
	secret, expires, err := a.StartSession(r.Context(), u)
	if err != nil {
		return err
	}
	SetSessionCookie(w, r, secret, expires)
	return nil
}
