// Package i18n holds the message catalogs of the portal and the console
// (English, German, Simplified Chinese) and the locale formats of dates,
// numbers and money.
//
// A message's id is its English text ("Sign in", "{{.Count}} shown"):
// templates read as English, and an id the catalog does not hold (a
// domain error message, a name) is shown as it is. The catalogs are
// locales/active.<locale>.json in go-i18n's format; a message with a count
// has plural forms ("one", "other"). A test fails when a message lacks a
// translation in one of the locales.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/template"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/portcullis-dev/portcullis/internal/access"
)

//go:embed locales/*.json
var files embed.FS

// Locales are the languages of the pages, as access.Locales.
var Locales = access.Locales

var (
	once       sync.Once
	bundle     *goi18n.Bundle
	localizers map[string]*goi18n.Localizer
	ids        map[string]bool
	matcher    = language.NewMatcher([]language.Tag{language.English, language.German, language.SimplifiedChinese})
)

// load reads the catalogs. They are flat JSON objects of id → text, or
// id → {"one": ..., "other": ...}; they are read here rather than by
// go-i18n's file parser, which reserves keys such as "id" that are
// English texts here.
func load() {
	bundle = goi18n.NewBundle(language.English)
	localizers = map[string]*goi18n.Localizer{}
	ids = map[string]bool{}
	for _, l := range Locales {
		name := "locales/active." + l + ".json"
		msgs, err := readCatalog(name)
		if err != nil {
			panic(err) // embedded: the catalog test catches this
		}
		tag := tags[l]
		if err := bundle.AddMessages(tag, msgs...); err != nil {
			panic(fmt.Errorf("%s: %w", name, err))
		}
		if l == "en" {
			for _, m := range msgs {
				ids[m.ID] = true
			}
		}
		localizers[l] = goi18n.NewLocalizer(bundle, tag.String())
	}
}

// readCatalog parses one catalog file.
func readCatalog(name string) ([]*goi18n.Message, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make([]*goi18n.Message, 0, len(raw))
	for id, v := range raw {
		m := &goi18n.Message{ID: id}
		var plural struct{ Zero, One, Two, Few, Many, Other string }
		if err := json.Unmarshal(v, &m.Other); err != nil {
			if err := json.Unmarshal(v, &plural); err != nil || plural.Other == "" {
				return nil, fmt.Errorf("%s: %q is neither a text nor plural forms with \"other\"", name, id)
			}
			m.Zero, m.One, m.Two, m.Few, m.Many, m.Other = plural.Zero, plural.One, plural.Two, plural.Few, plural.Many, plural.Other
		}
		out = append(out, m)
	}
	return out, nil
}

// Catalog returns the ids of locale's catalog (for tests).
func Catalog(locale string) (map[string]bool, error) {
	msgs, err := readCatalog("locales/active." + locale + ".json")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, m := range msgs {
		out[m.ID] = true
	}
	return out, nil
}

// Supported reports whether locale is one of Locales.
func Supported(locale string) bool { return slices.Contains(Locales, locale) }

// Has reports whether the catalog holds id.
func Has(id string) bool {
	once.Do(load)
	return ids[id]
}

// T translates the message id into locale, with args as pairs of a name
// and a value for the message's {{.Name}} placeholders; a value named
// "Count" also picks the plural form. An id the catalog lacks is shown as
// it is (with its placeholders filled).
func T(locale, id string, args ...any) string {
	once.Do(load)
	var data map[string]any
	var count any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			k := fmt.Sprint(args[i])
			data[k] = args[i+1]
			if k == "Count" {
				count = args[i+1]
			}
		}
	}
	lz := localizers[locale]
	if lz == nil {
		lz = localizers["en"]
	}
	if ids[id] {
		if s, err := lz.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count}); err == nil {
			return s
		}
	}
	if data == nil || !strings.Contains(id, "{{") {
		return id
	}
	t, err := template.New("").Parse(id)
	if err != nil {
		return id
	}
	var sb strings.Builder
	if err := t.Execute(&sb, data); err != nil {
		return id
	}
	return sb.String()
}

// Negotiate picks the locale of an Accept-Language header, "" when it
// names none of Locales.
func Negotiate(acceptLanguage string) string {
	if acceptLanguage == "" {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return ""
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No {
		return ""
	}
	return Locales[idx]
}

// CookieName is the cookie that keeps the language an anonymous visitor
// chose on the sign-in page (?lang=de).
const CookieName = "portcullis_lang"

// Choose is the locale of a request: the signed-in user's locale, else
// the ?lang= parameter, else the language cookie, else the browser's
// Accept-Language, else def. A supported ?lang= is remembered in the
// cookie.
func Choose(w http.ResponseWriter, r *http.Request, user *access.User, def string) string {
	if user != nil && Supported(user.Locale) {
		return user.Locale
	}
	if l := r.URL.Query().Get("lang"); Supported(l) {
		if w != nil {
			http.SetCookie(w, &http.Cookie{Name: CookieName, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
		}
		return l
	}
	if c, err := r.Cookie(CookieName); err == nil && Supported(c.Value) {
		return c.Value
	}
	if l := Negotiate(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	if Supported(def) {
		return def
	}
	return access.LocaleDefault
}
