package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The user picker (portal.md §5): "add a grant" and "add a member" pick a
// user by name or email from a search instead of a typed id. Without
// JavaScript the picker's Search button submits the form with GET to the
// page itself (formmethod="get"), which renders the form again as typed
// with the matching users as radio buttons; the form's POST then sends
// the picked user in the form's usual field (principal, user), as before.
// A typed id, email or group:<id> in the text box beside it (the field
// with suffix "_text") wins over a picked user, so a group is still added
// as before. /static/picker.js improves this with search as you type,
// from the JSON of GET /admin/picker/users, authorized like every console
// page (staff only; a session is required, an API token is sent to sign
// in).

// pickerLimit is how many users a picker search shows.
const pickerLimit = 10

// picker is what the user_picker template renders.
type picker struct {
	// Field is the form field of the picked user; Field+"_text" is the
	// text box for a typed value.
	Field string
	// ID prefixes the picker's element ids; the text box is ID itself.
	ID string
	// Kind restricts the users searched ("external" for grants).
	Kind string
	// Action is where the Search button submits the form with GET.
	Action string
	// TextLabel labels the text box (a catalog id).
	TextLabel string
	// Find is the search text; Searched tells that a search ran.
	Find     string
	Searched bool
	Choices  []pickChoice
	// Typed is the text box's value.
	Typed string
	// Error is the message of the field, if any.
	Error string
}

// pickChoice is one user offered by the picker.
type pickChoice struct {
	Value, Name, Email, ID, Home, HomeName, Status string
	Checked                                        bool
}

// pickedValue is what a picker sent: the typed text when there is one,
// else the picked user.
func pickedValue(form url.Values, field string) string {
	if v := strings.TrimSpace(form.Get(field + "_text")); v != "" {
		return v
	}
	return strings.TrimSpace(form.Get(field))
}

// choice describes user u as a choice whose value is value.
func (s *Surface) choice(u access.User, value string) pickChoice {
	ch := pickChoice{Value: value, Name: u.Name, Email: u.Email, ID: u.ID, Home: u.HomeAccount, Status: u.Status}
	if a, ok := s.app.Engine().Account(u.HomeAccount); ok {
		ch.HomeName = a.Name
	}
	return ch
}

// fill searches for pk.Find (when searched) and shows the current value:
// a picked user as a checked choice, anything else in the text box.
// value makes a choice's value from a user id ("user:<id>" for grants).
func (s *Surface) fill(r *http.Request, c *app.Actor, pk *picker, current string, value func(id string) string) error {
	if pk.Searched {
		users, err := s.app.PickUsers(r.Context(), c, app.UserPick{Text: pk.Find, Kind: pk.Kind, Limit: pickerLimit})
		if err != nil {
			return err
		}
		for _, u := range users {
			pk.Choices = append(pk.Choices, s.choice(u, value(u.ID)))
		}
	}
	if current == "" {
		return nil
	}
	for i := range pk.Choices {
		if pk.Choices[i].Value == current {
			pk.Choices[i].Checked = true
			return nil
		}
	}
	for _, id := range []string{strings.TrimPrefix(current, "user:"), current} {
		if u, ok := s.app.Engine().User(id); ok && value(u.ID) == current {
			ch := s.choice(u, current)
			ch.Checked = true
			pk.Choices = append([]pickChoice{ch}, pk.Choices...)
			return nil
		}
	}
	pk.Typed = current
	return nil
}

// pickerRoutes serves the picker's JSON, for staff like every page.
func (s *Surface) pickerRoutes(get func(string, surface.Handler) surface.Route) []surface.Route {
	return []surface.Route{get("/admin/picker/users", s.handlePickUsers)}
}

// pickedUser is one user of the picker's JSON.
type pickedUser struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Email           string `json:"email"`
	Kind            string `json:"kind"`
	Status          string `json:"status"`
	HomeAccount     string `json:"home_account,omitempty"`
	HomeAccountName string `json:"home_account_name,omitempty"`
}

// handlePickUsers answers GET /admin/picker/users?q=<text>[&kind=external]
// with {"users": [...]}: at most pickerLimit users whose id, name or
// email contain the text (app.PickUsers).
func (s *Surface) handlePickUsers(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	kind := q.Get("kind")
	if kind != access.KindExternal && kind != access.KindInternal {
		kind = ""
	}
	users, err := s.app.PickUsers(r.Context(), c, app.UserPick{Text: q.Get("q"), Kind: kind, Limit: pickerLimit})
	if err != nil {
		return err
	}
	out := struct {
		Users []pickedUser `json:"users"`
	}{Users: []pickedUser{}}
	for _, u := range users {
		ch := s.choice(u, "")
		out.Users = append(out.Users, pickedUser{ID: u.ID, Name: u.Name, Email: u.Email, Kind: u.Kind, Status: u.Status,
			HomeAccount: u.HomeAccount, HomeAccountName: ch.HomeName})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(out)
}
