// Package render is what the page surfaces (portal, admin) share: the
// parsed templates, the page frame, confirmations after a redirect, form
// errors placed next to their inputs, the console's navigation, and the
// form parsers both surfaces use. Pages are rendered on the server with
// html/template and work without JavaScript.
package render

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/i18n"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/web"
)

// Page is what every template receives.
type Page struct {
	Title string
	User  *access.User
	// Accounts are the accounts the portal user can act on (the switcher,
	// shown only when there are several); Current is the one in the URL.
	Accounts []access.AccountAccess
	Current  *access.AccountAccess
	// Base is the URL prefix of the portal pages ("" or, for view as,
	// "/admin/view-as/<user>").
	Base string
	// ViewAs is set when staff view the portal as an external user.
	ViewAs *access.User
	Nav    []NavItem
	Flash  string
	Error  string
	// Errors are per-input messages shown next to their inputs, by the
	// input's id.
	Errors map[string]string
	Data   any
	// Locale is the page's language (i18n.Locales); Render fills it in
	// from the user, the request and --default-locale.
	Locale string
}

// translate puts the page's texts that Go code set (title, confirmation,
// errors, navigation) into its locale; texts the catalog lacks (a name,
// a domain message without translation) stay as they are.
func (p *Page) translate() {
	tr := func(s string) string { return i18n.T(p.Locale, s) }
	p.Title, p.Flash, p.Error = tr(p.Title), tr(p.Flash), tr(p.Error)
	for k, v := range p.Errors {
		p.Errors[k] = tr(v)
	}
	for i := range p.Nav {
		if t := p.Nav[i].Type; t != nil {
			p.Nav[i].Label = t.PluralIn(p.Locale)
		} else {
			p.Nav[i].Label = tr(p.Nav[i].Label)
		}
	}
}

// NavItem is one entry of a page's navigation.
type NavItem struct {
	Label, Href string
	Current     bool
	// Type, when set, labels the entry with the type's plural title in
	// the page's locale.
	Type *policy.Type
}

// Choice is one choice of a <select>.
type Choice struct {
	Value, Label string
	Selected     bool
}

// Renderer renders the embedded templates, parsed once per locale with
// that locale's template functions. Create it with New.
type Renderer struct {
	templates map[string]map[string]*template.Template // locale → page
	log       *slog.Logger
	// defaultLocale is --default-locale: the language of a visitor whose
	// browser names none of i18n.Locales.
	defaultLocale string
	policy        func() *policy.Policy
	// brand is --brand-name, --brand-logo and --brand-color.
	brand Brand
	// groupName names a group by id (SetGroupNames).
	groupName func(id string) (string, bool)
}

// New parses the embedded templates: layout.html and the partials every
// page may use (record_talk.html, impact.html) with each page template, once per
// locale.
func New(log *slog.Logger) (*Renderer, error) {
	if log == nil {
		log = slog.Default()
	}
	rd := &Renderer{templates: map[string]map[string]*template.Template{}, log: log, defaultLocale: access.LocaleDefault}
	for _, l := range i18n.Locales {
		out, err := rd.parse(l)
		if err != nil {
			return nil, err
		}
		rd.templates[l] = out
	}
	return rd, nil
}

// SetDefaultLocale sets the locale of visitors whose user and browser name
// none (--default-locale); an unsupported one is ignored.
func (rd *Renderer) SetDefaultLocale(l string) {
	if i18n.Supported(l) {
		rd.defaultLocale = l
	}
}

// SetGroupNames sets how a value "group:<id>" (a ticket's responsible
// team) is named on pages: by the group's name, the id when unknown.
func (rd *Renderer) SetGroupNames(name func(id string) (string, bool)) { rd.groupName = name }

// principal names a value "group:<id>" by its group's name.
func (rd *Renderer) principal(v any) (string, bool) {
	s, ok := v.(string)
	id, isGroup := strings.CutPrefix(s, "group:")
	if !ok || !isGroup || rd.groupName == nil {
		return "", false
	}
	return rd.groupName(id)
}

// SetBrand sets the name, logo and colour pages show (NewBrand).
func (rd *Renderer) SetBrand(b Brand) { rd.brand = b }

// SetPolicy gives the templates the policy in force (role titles).
func (rd *Renderer) SetPolicy(pol func() *policy.Policy) { rd.policy = pol }

// Locale is the locale of a page for user (nil: anonymous) on r (see
// i18n.Choose); w, when given, remembers a ?lang= choice in a cookie.
func (rd *Renderer) Locale(w http.ResponseWriter, r *http.Request, user *access.User) string {
	return i18n.Choose(w, r, user, rd.defaultLocale)
}

// T translates id for user on r (see i18n.T).
func (rd *Renderer) T(r *http.Request, user *access.User, id string, args ...any) string {
	return i18n.T(rd.Locale(nil, r, user), id, args...)
}

// cell is Cell, with a group named by its name (SetGroupNames) where the
// field gives the value no label.
func (rd *Renderer) cell(locale string, t *policy.Type, rec *access.Record, path string, v any) string {
	out := Cell(locale, t, rec, path, v)
	if s, ok := v.(string); ok && out == s {
		if n, ok := rd.principal(v); ok {
			return n
		}
	}
	return out
}

// templatePaths are the paths of template files in web.Templates.
func templatePaths(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = "templates/" + f
	}
	return out
}

func (rd *Renderer) parse(locale string) (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(rd.funcs(locale)).ParseFS(web.Templates, append([]string{"templates/layout.html"}, templatePaths(partials)...)...)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(web.Templates, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || slices.Contains(partials, base) {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(web.Templates, n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out, nil
}

// funcs are the template functions of locale.
func (rd *Renderer) funcs(locale string) template.FuncMap {
	return template.FuncMap{
		"t":         func(id string, args ...any) string { return i18n.T(locale, id, args...) },
		"locale":    func() string { return locale },
		"brand":     func() Brand { return rd.brand },
		"languages": func() []Choice { return LocaleChoices(locale) },
		"fmtDate":   func(s string) string { return i18n.DateString(locale, s) },
		"fmtTime":   func(t time.Time) string { return i18n.Time(locale, t) },
		"fmtDue":    func(t time.Time) string { return i18n.Deadline(locale, t) },
		"person":    func(name string) string { return PersonName(locale, name) },
		"fmtTimePtr": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return i18n.Time(locale, *t)
		},
		"value":      func(v any) string { return FormatValueIn(locale, v) },
		"recordName": RecordName,
		"cell": func(t *policy.Type, rec *access.Record, name string) string {
			return rd.cell(locale, t, rec, name, rec.Attributes[name])
		},
		// lineCell is a cell of the line table of attribute table.
		"lineCell": func(t *policy.Type, rec *access.Record, table, column string, v any) string {
			return rd.cell(locale, t, rec, table+"[]."+column, v)
		},
		"fieldValue": func(t *policy.Type, rec *access.Record, name string, v any) string {
			return rd.cell(locale, t, rec, name, v)
		},
		"valueLabel": func(t *policy.Type, field, v string) string {
			if l := ValueLabel(locale, t, field, v); l != v {
				return l
			}
			if n, ok := rd.principal(v); ok {
				return n
			}
			return v
		},
		"typeTitle":  func(t *policy.Type) string { return t.TitleIn(locale) },
		"typePlural": func(t *policy.Type) string { return t.PluralIn(locale) },
		"roleTitle":  func(name string) string { return rd.roleTitle(locale, name) },
		"label":      func(name string) string { return i18n.T(locale, FieldLabel(name)) },
		"typeName":   func(name string) string { return rd.typeName(locale, name) },
		"isNum":      func(v any) bool { _, ok := v.(float64); return ok },
		"join":       strings.Join,
		"query":      func(v url.Values) string { return v.Encode() },
		"derefInt": func(p *int) string {
			if p == nil {
				return ""
			}
			return fmt.Sprint(*p)
		},
		"hasPrefix": strings.HasPrefix,
		// count is a record count as lists and the home show it: exact up
		// to app.CountMax, then "1,000+".
		"count": func(c app.RecordCount) string { return Count(locale, c) },
		"num":   func(n int) string { return i18n.Number(locale, float64(n)) },
		"money": func(m app.MoneyTotal) string {
			if m.Currency == "" {
				return i18n.Number(locale, m.Amount)
			}
			return i18n.Money(locale, m.Amount, m.Currency)
		},
		"fmtSize": func(n int64) string { return FormatSizeIn(locale, n) },
		"contains": func(list []string, v string) bool {
			for _, x := range list {
				if x == v {
					return true
				}
			}
			return false
		},
	}
}

// Count formats a record count for locale: the number, and "+" after
// app.CountMax when there are more ("1.000+" in German).
func Count(locale string, c app.RecordCount) string {
	s := i18n.Number(locale, float64(c.N))
	if c.More {
		s += "+"
	}
	return s
}

// typeName is the title of the object type name in locale, or the name.
func (rd *Renderer) typeName(locale, name string) string {
	if rd.policy != nil {
		if pol := rd.policy(); pol != nil {
			if t := pol.Type(name); t != nil {
				return t.TitleIn(locale)
			}
		}
	}
	return name
}

// roleTitle is the title of role name in locale, or the name when the
// policy has no such role.
func (rd *Renderer) roleTitle(locale, name string) string {
	if rd.policy == nil {
		return name
	}
	if pol := rd.policy(); pol != nil {
		if r := pol.Role(name); r != nil {
			return r.TitleIn(locale)
		}
	}
	return name
}

// partials are the template files of sections shared by pages, parsed
// with the layout: a record's conversation, the console's user picker and
// names, a change's impact.
var partials = []string{"record_talk.html", "admin_partials.html", "impact.html"}

// doneMessages are the confirmations a page shows after a redirect that
// names one in its ?done= parameter (POST, redirect, GET). Only these fixed
// texts are ever shown: the parameter never carries text of its own.
var doneMessages = map[string]string{
	"created":         "Created.",
	"saved":           "Your changes were saved.",
	"added":           "Access added.",
	"invited":         "User invited and access added. The invitation with a sign-in link is on its way.",
	"changed":         "Access changed.",
	"revoked":         "Access revoked.",
	"password":        "Your password was changed. Your other sessions were signed out.",
	"account_created": "The account was created.",
	"account_saved":   "The account was saved.",
	"access_on":       "External users are now allowed on this account. Its group and default grant are active.",
	"access_off":      "External users are no longer allowed on this account. Its grants are kept but inactive.",
	"grant_added":     "The grant was added.",
	"grant_saved":     "The grant was saved.",
	"grant_removed":   "The grant was removed.",
	"user_created":    "The user was created.",
	"user_saved":      "The user was saved.",
	"user_deleted":    "The user was deleted.",
	"constraints":     "The constraints were saved.",
	"password_set":    "The password was set. The user's sessions have ended.",
	"group_created":   "The group was created.",
	"scim_revoked":    "The SCIM token was revoked. Its next request is refused.",
	"group_saved":     "The group was saved.",
	"member_added":    "The member was added.",
	"member_removed":  "The member was removed.",
	"policy_saved":    "The new policy version was saved and is in force.",
	"mfa_off":         "Two-factor authentication is off.",
	"mfa_reset":       "The user's two-factor authentication was reset: the next sign-in needs the password only (and a new enrolment where it is required).",
	"commented":       "Your comment was posted.",
	"file_added":      "The file was attached.",
	"file_removed":    "The file was removed.",
	"locale":          "Your language was saved.",
}

// Render writes page name with status; a ?done= confirmation becomes its
// flash message. A template failure is logged and answered with a plain
// 500.
func (rd *Renderer) Render(w http.ResponseWriter, r *http.Request, status int, name string, p *Page) {
	if p.Flash == "" {
		p.Flash = doneMessages[r.URL.Query().Get("done")]
	}
	kept := surface.KeptOf(r)
	if kept != nil {
		switch {
		case kept.Edit:
			p.Flash = editNotice
		case kept.Truncated:
			p.Flash = resumedTruncatedNotice
		default:
			p.Flash = resumedNotice
		}
	}
	if !i18n.Supported(p.Locale) {
		p.Locale = rd.Locale(w, r, p.User)
	}
	p.translate()
	t := rd.templates[p.Locale][name]
	if t == nil {
		rd.log.Error("no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		rd.log.Error("render", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	out := buf.Bytes()
	if kept != nil {
		filled, err := fillKept(out, r.URL.Path, kept)
		if err != nil {
			rd.log.Error("render: fill a kept form", "template", name, "err", err)
		} else {
			out = filled
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// Error renders a domain error as the error page, with the status of the
// error table; an internal cause is logged, never shown.
func (rd *Renderer) Error(w http.ResponseWriter, r *http.Request, user *access.User, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong. Please try again."
	e := surface.DomainError(err)
	if e != nil {
		status, msg = surface.Status(e.Code), e.Message
	} else {
		rd.log.Error("page error", "path", r.URL.Path, "err", err)
	}
	switch {
	case e != nil && e.Code == access.CodeNotFound:
		msg = "This page does not exist, or you may not see it."
	case e != nil && e.Code == access.CodeForbidden && msg == "":
		msg = "You may not do this."
	}
	rd.Render(w, r, status, "error", &Page{Title: http.StatusText(status), Error: msg, User: user})
}

// FormError shows a domain error of a form on p: the message in the
// layout's live region and, when the error names a field that inputs maps
// to an input id, next to that input (unless a message is already there).
// It returns the status to render the form with; an internal error is
// returned as is, for the error page.
func FormError(p *Page, err error, inputs map[string]string) (int, error) {
	e := surface.DomainError(err)
	if e == nil {
		return 0, err
	}
	p.Error = e.Message
	if id, ok := inputs[e.Field]; ok && e.Field != "" {
		if p.Errors == nil {
			p.Errors = map[string]string{}
		}
		if _, set := p.Errors[id]; !set {
			p.Errors[id] = e.Message
		}
	}
	return surface.Status(e.Code), nil
}

// localeNames are the languages as their speakers write them.
var localeNames = map[string]string{"en": "English", "de": "Deutsch", "zh": "中文"}

// LocaleChoices are the language switch's choices, current selected.
func LocaleChoices(current string) []Choice {
	out := make([]Choice, 0, len(i18n.Locales))
	for _, l := range i18n.Locales {
		out = append(out, Choice{Value: l, Label: localeNames[l], Selected: l == current})
	}
	return out
}

// RedirectDone sends the browser to path with a confirmation (?done=key,
// one of the fixed messages), keeping a #fragment.
func RedirectDone(w http.ResponseWriter, r *http.Request, path, done string) {
	path, frag, hasFrag := strings.Cut(path, "#")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	path += sep + "done=" + url.QueryEscape(done)
	if hasFrag {
		path += "#" + frag
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// SafeNext keeps a post-sign-in redirect on this site: a path
// (surface.SafePath), never another host; anything else is "/".
func SafeNext(next string) string {
	if p := surface.SafePath(next); p != "" {
		return p
	}
	return "/"
}

// AdminNav is the console's navigation; active names the current entry
// ("accounts", "users", ...).
func AdminNav(active string) []NavItem {
	items := []NavItem{
		{Label: "Accounts", Href: "/admin/accounts"},
		{Label: "Users", Href: "/admin/users"},
		{Label: "Groups", Href: "/admin/groups"},
		{Label: "Policy", Href: "/admin/policy"},
		{Label: "Records", Href: "/admin/records"},
		{Label: "Access checker", Href: "/admin/check"},
		{Label: "View as", Href: "/admin/view-as"},
		{Label: "Audit log", Href: "/admin/audit"},
		{Label: "Invitations", Href: "/admin/invitations"},
		{Label: "Outbox", Href: "/admin/outbox"},
		{Label: "Identity providers", Href: "/admin/identity-providers"},
		{Label: "SCIM tokens", Href: "/admin/scim-tokens"},
		{Label: "Access reviews", Href: "/admin/reviews"},
	}
	for i := range items {
		items[i].Current = items[i].Href == "/admin/"+active
	}
	return items
}

// PersonName is a person's name as app shows it to a reader, in locale:
// the placeholders for people the reader may not know are translated.
func PersonName(locale, name string) string {
	if name == app.AnotherCompany || name == app.AColleague {
		return i18n.T(locale, name)
	}
	return name
}

// FieldLabel turns an attribute name into a label: "po_number" →
// "Po number".
func FieldLabel(name string) string {
	l := strings.ReplaceAll(name, "_", " ")
	if l == "" {
		return l
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// FormatValue renders an attribute value as a form input holds it: the
// string itself, a number without separators ("1234.5" as "1234.50").
func FormatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
	return FormatValueIn(access.LocaleDefault, v)
}

// FormatValueIn renders an attribute value for a table cell in locale:
// numbers with the locale's separators, dates of the form YYYY-MM-DD as
// the locale writes them.
func FormatValueIn(locale string, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return i18n.DateString(locale, x)
	case float64:
		return i18n.Number(locale, x)
	case bool:
		if x {
			return i18n.T(locale, "yes")
		}
		return i18n.T(locale, "no")
	case []any:
		return i18n.T(locale, "{{.Count}} items", "Count", len(x))
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+FormatValueIn(locale, x[k]))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// CloneValues copies a query.
func CloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// PageLinks returns a list page's pager: the URL of the next page when
// next is a cursor, and of the first page when the page shown has a
// cursor; path with the list's filters (and, for the next page, its
// cursor) as the query.
func PageLinks(path string, filters url.Values, cursor, next string) (nextURL, firstURL string) {
	link := func(q url.Values) string {
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	q := CloneValues(filters)
	q.Del("cursor")
	if cursor != "" {
		firstURL = link(q)
	}
	if next != "" {
		q.Set("cursor", next)
		nextURL = link(q)
	}
	return nextURL, firstURL
}
