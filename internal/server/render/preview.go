package render

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Confirmation before saving (governance.md §1, portal.md §5): a form's
// first submit of an access change shows what it would do (the impact
// preview of app.PreviewChanges) and a "Save" that posts the same values
// again with confirm=yes; only that second post writes. The grant removal
// of the console's External Access panel (?remove=<id>) is the same
// pattern with the question on the account page.

// PreviewTimeout bounds how long a confirmation waits for its preview: a
// slower one is left out and the page says so, so it always renders.
const PreviewTimeout = 3 * time.Second

// previewSamples is how many sample records a confirmation links per
// effect and direction.
const previewSamples = 3

// Confirmed reports whether a POST carries the confirmation (confirm=yes).
func Confirmed(r *http.Request) bool { return r.PostFormValue("confirm") == "yes" }

// Confirm is a change waiting for its confirmation: the question, what it
// changes, its effects, and the form that posts the values again with
// confirm=yes. Texts are in the page's locale.
type Confirm struct {
	Heading, Summary string
	// Action is the URL Save posts to; Values the posted values it posts
	// again (confirm excluded).
	Action string
	Values []Hidden
	Button string
	// Back, when set, labels a button that posts the values with
	// confirm=back: the form again, as typed (the policy editor).
	Back string
	// Edit, when set, is the page of the form the values came from: a
	// Change button (confirm=edit) brings it back with the values filled
	// in (surface.KeepEdit), so nothing typed is lost.
	Edit string
	// Danger marks a destructive change (its Save is red).
	Danger bool
	Cancel string
	Impact Impact
}

// Hidden is one hidden input of a confirmation's form.
type Hidden struct{ Name, Value string }

// Resubmit lists the values of form as hidden inputs, sorted by name,
// without confirm and surface.PageField.
func Resubmit(form url.Values) []Hidden {
	names := make([]string, 0, len(form))
	for k := range form {
		if k != "confirm" && k != surface.PageField {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []Hidden
	for _, k := range names {
		for _, v := range form[k] {
			out = append(out, Hidden{k, v})
		}
	}
	return out
}

// Impact is a preview as a confirmation shows it: per affected user, its
// effects with names rather than ids.
type Impact struct {
	Users    []ImpactUser
	Warnings []string
	// Failed says why the effects are not shown (the preview was too
	// slow or failed); the change may still be saved.
	Failed string
	// Brief: one line per user (the portal), no tables or record links.
	Brief bool
}

// ImpactUser is one affected user with its effects.
type ImpactUser struct {
	ID, Name, URL string
	Effects       []ImpactEffect
	// Line is the user's effects in one sentence (the portal).
	Line string
}

// ImpactEffect is what the change does to one action of the user on one
// type: Type is its plural title, Action translated.
type ImpactEffect struct {
	Type, Action               string
	Gained, Lost               int
	SampleGained, SampleLost   []Link
	FieldsGained, FieldsLost   []string
	Hidden                     []string
	GainedText, LostText, Text string
}

// Link is a labelled URL.
type Link struct{ Label, Href string }

// ImpactOptions say how a confirmation names users and records.
type ImpactOptions struct {
	// UserURL links an affected user ("" or nil: no link).
	UserURL func(id string) string
	// RecordURL links a sample record (nil: no samples).
	RecordURL func(typ, id string) string
	// Brief: the portal's one-line summaries.
	Brief bool
}

// PreviewImpact runs the preview of changes for c (bounded by
// PreviewTimeout) and describes it in locale. An invalid or forbidden
// change is returned as its domain error, for the form; a preview that is
// too slow or fails otherwise is an Impact whose Failed says so.
func PreviewImpact(ctx context.Context, a *app.App, c *app.Actor, log *slog.Logger, locale string, changes []app.PreviewChange, o ImpactOptions) (Impact, error) {
	ctx, cancel := context.WithTimeout(ctx, PreviewTimeout)
	defer cancel()
	p, err := a.PreviewChanges(ctx, c, changes)
	if err != nil {
		if surface.DomainError(err) != nil && ctx.Err() == nil {
			return Impact{}, err
		}
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return Impact{Brief: o.Brief, Failed: i18n.T(locale, "The preview took too long, so its effects are not shown. You may still save the change.")}, nil
		}
		if log != nil {
			log.Error("preview for a confirmation", "err", err)
		}
		return Impact{Brief: o.Brief, Failed: i18n.T(locale, "The preview could not be computed, so its effects are not shown. You may still save the change.")}, nil
	}
	return describe(locale, a.Engine(), p, o), nil
}

// describe names a preview's users, types, actions and fields in locale.
func describe(locale string, eng *access.Engine, p app.Preview, o ImpactOptions) Impact {
	pol := eng.Policy()
	out := Impact{Brief: o.Brief}
	for _, w := range p.Warnings {
		out.Warnings = append(out.Warnings, warningText(locale, eng, w, o.Brief))
	}
	for _, e := range p.Effects {
		if len(out.Users) == 0 || out.Users[len(out.Users)-1].ID != e.User {
			u := ImpactUser{ID: e.User, Name: e.User}
			if x, ok := eng.User(e.User); ok && x.Name != "" {
				u.Name = x.Name
			}
			if o.UserURL != nil {
				u.URL = o.UserURL(e.User)
			}
			out.Users = append(out.Users, u)
		}
		u := &out.Users[len(out.Users)-1]
		typ := e.Type
		if t := pol.Type(e.Type); t != nil {
			typ = t.PluralIn(locale)
		}
		fx := ImpactEffect{Type: typ, Action: i18n.T(locale, e.Action), Gained: e.Gained, Lost: e.Lost,
			FieldsGained: fieldLabels(locale, e.FieldsGained), FieldsLost: fieldLabels(locale, e.FieldsLost)}
		if e.Action == "read" && e.Gained > 0 {
			// A restricted field not among those gained is hidden on every
			// record gained (each was unreadable before).
			if t := pol.Type(e.Type); t != nil {
				var hidden []string
				for _, f := range t.Restricted {
					if !slices.Contains(e.FieldsGained, f.Path) {
						hidden = append(hidden, f.Path)
					}
				}
				fx.Hidden = fieldLabels(locale, hidden)
			}
		}
		if o.RecordURL != nil {
			fx.SampleGained = samples(e.Type, e.SampleGained, o.RecordURL)
			fx.SampleLost = samples(e.Type, e.SampleLost, o.RecordURL)
		}
		fx.GainedText = i18n.T(locale, "gains {{.Action}} on {{.N}} {{.Type}}", "Action", fx.Action, "N", i18n.Number(locale, float64(e.Gained)), "Type", typ)
		fx.LostText = i18n.T(locale, "loses {{.Action}} on {{.N}} {{.Type}}", "Action", fx.Action, "N", i18n.Number(locale, float64(e.Lost)), "Type", typ)
		var parts []string
		if e.Gained > 0 {
			s := fx.GainedText
			if len(fx.Hidden) > 0 {
				s += " (" + i18n.T(locale, "{{.Fields}} hidden", "Fields", strings.Join(fx.Hidden, ", ")) + ")"
			}
			parts = append(parts, s)
		}
		if e.Lost > 0 {
			parts = append(parts, fx.LostText)
		}
		if len(fx.FieldsGained) > 0 {
			parts = append(parts, i18n.T(locale, "now sees {{.Fields}} on {{.Type}}", "Fields", strings.Join(fx.FieldsGained, ", "), "Type", typ))
		}
		if len(fx.FieldsLost) > 0 {
			parts = append(parts, i18n.T(locale, "no longer sees {{.Fields}} on {{.Type}}", "Fields", strings.Join(fx.FieldsLost, ", "), "Type", typ))
		}
		fx.Text = strings.Join(parts, "; ")
		u.Effects = append(u.Effects, fx)
	}
	for i := range out.Users {
		u := &out.Users[i]
		var parts []string
		for _, e := range u.Effects {
			parts = append(parts, e.Text)
		}
		u.Line = i18n.T(locale, "{{.User}} {{.Effects}}.", "User", u.Name, "Effects", strings.Join(parts, "; "))
	}
	return out
}

// warningText is a preview warning in locale, with names for ids; brief
// (the portal) leaves out the number of a type's records in all.
func warningText(locale string, eng *access.Engine, w app.PreviewWarning, brief bool) string {
	pol := eng.Policy()
	user := func(id string) string {
		if u, ok := eng.User(id); ok && u.Name != "" {
			return u.Name
		}
		return id
	}
	switch {
	case w.Code == app.WarnBroadExposure && w.User != "":
		typ := w.Type
		if t := pol.Type(typ); t != nil {
			typ = t.PluralIn(locale)
		}
		if brief {
			// The portal does not tell how many records there are in all.
			return i18n.T(locale, "Broad exposure: {{.User}} would gain read on more than a fifth of all {{.Type}}.", "User", user(w.User), "Type", typ)
		}
		return i18n.T(locale, "Broad exposure: {{.User}} would gain read on {{.N}} of all {{.Total}} {{.Type}}.", "User", user(w.User),
			"N", strconv.Itoa(w.Gained), "Total", strconv.Itoa(w.Total), "Type", typ)
	case w.Code == app.WarnBroadExposure && brief:
		return i18n.T(locale, "Broad exposure: someone would gain read on more than a fifth of a type's records.")
	case w.Code == app.WarnBroadExposure:
		return i18n.T(locale, "Broad exposure: someone would gain read on more than a fifth of a type's records.") + " (" + w.Message + ")"
	case w.Code == app.WarnFieldsExposed:
		return i18n.T(locale, "Restricted fields exposed: a role would see a restricted field it could not see before.") + " (" + w.Message + ")"
	case w.Code == app.WarnOwnerAffected && w.User != "":
		acct := w.Account
		if a, ok := eng.Account(acct); ok && a.Name != "" {
			acct = a.Name + " (" + a.ID + ")"
		}
		role := w.Role
		if r := pol.Role(role); r != nil {
			role = r.TitleIn(locale)
		}
		return i18n.T(locale, "An Owner would lose access: {{.User}} holds the role {{.Role}} on {{.Account}}.", "User", user(w.User), "Role", role, "Account", acct)
	case w.Code == app.WarnOwnerAffected:
		return i18n.T(locale, "An Owner would lose access.") + " (" + w.Message + ")"
	}
	return w.Message
}

func samples(typ string, ids []string, link func(typ, id string) string) []Link {
	var out []Link
	for _, id := range ids {
		if len(out) == previewSamples {
			break
		}
		out = append(out, Link{Label: id, Href: link(typ, id)})
	}
	return out
}

// fieldLabels are restricted field paths as labels ("lines[].price" →
// "Lines › price").
func fieldLabels(locale string, paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, i18n.T(locale, FieldLabel(strings.ReplaceAll(p, "[].", " › "))))
	}
	return out
}

// GrantPatch is a grant update as a preview's patch: the fields it sets
// (null where it clears one), none it leaves alone.
func GrantPatch(u app.GrantUpdate) json.RawMessage {
	m := map[string]any{}
	put := func(key string, set, null bool, v any) {
		if set {
			if null {
				v = nil
			}
			m[key] = v
		}
	}
	put("principal", u.Principal.Set, u.Principal.Null, u.Principal.Value)
	put("account", u.Account.Set, u.Account.Null, u.Account.Value)
	put("role", u.Role.Set, u.Role.Null, u.Role.Value)
	put("scope", u.Scope.Set, u.Scope.Null, u.Scope.Value)
	put("access", u.Access.Set, u.Access.Null, u.Access.Value)
	put("days_back", u.DaysBack.Set, u.DaysBack.Null, u.DaysBack.Value)
	put("valid_from", u.ValidFrom.Set, u.ValidFrom.Null, u.ValidFrom.Value)
	put("valid_until", u.ValidUntil.Set, u.ValidUntil.Null, u.ValidUntil.Value)
	put("notes", u.Notes.Set, u.Notes.Null, u.Notes.Value)
	return Patch(m)
}

// Patch is m as a preview change's patch.
func Patch(m map[string]any) json.RawMessage {
	b, _ := json.Marshal(m)
	return b
}

// RoleTitle is the title of role name in the locale of user on r.
func (rd *Renderer) RoleTitle(r *http.Request, user *access.User, name string) string {
	return rd.roleTitle(rd.Locale(nil, r, user), name)
}

// GrantAccessChanges reports whether u changes what old grants (its role,
// scope, access, days back or validity), not only its notes.
func GrantAccessChanges(old access.Grant, u app.GrantUpdate) bool {
	str := func(o app.Optional[string], v string) bool { return o.Set && o.Value != v }
	timeDiffers := func(o app.Optional[time.Time], v *time.Time) bool {
		return o.Set && (o.Null != (v == nil) || (!o.Null && !o.Value.Equal(*v)))
	}
	days := u.DaysBack.Set && (u.DaysBack.Null != (old.DaysBack == nil) || (!u.DaysBack.Null && *old.DaysBack != u.DaysBack.Value))
	return str(u.Role, old.Role) || str(u.Scope, old.Scope) || str(u.Access, old.Access) || days ||
		timeDiffers(u.ValidFrom, old.ValidFrom) || timeDiffers(u.ValidUntil, old.ValidUntil)
}
