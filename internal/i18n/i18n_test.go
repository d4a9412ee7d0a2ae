package i18n

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// TestCatalogsComplete fails when a message of one locale lacks a
// translation in another, or when a translation drops or invents a
// placeholder.
func TestCatalogsComplete(t *testing.T) {
	cats := map[string]map[string]bool{}
	for _, l := range Locales {
		c, err := Catalog(l)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) == 0 {
			t.Fatalf("%s: empty catalog", l)
		}
		cats[l] = c
	}
	ph := regexp.MustCompile(`\{\{\.(\w+)\}\}`)
	names := func(s string) []string {
		var out []string
		for _, m := range ph.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for _, l := range Locales {
		for id := range cats[l] {
			for _, o := range Locales {
				if !cats[o][id] {
					t.Errorf("%q (in %s) has no %s translation", id, l, o)
				}
			}
		}
	}
	for id := range cats["en"] {
		var args []any
		for _, n := range names(id) {
			args = append(args, n, "‹"+n+"›")
		}
		if slices.Contains(names(id), "Count") {
			args = args[:0]
			for _, n := range names(id) {
				if n == "Count" {
					args = append(args, n, 2)
				} else {
					args = append(args, n, "‹"+n+"›")
				}
			}
		}
		for _, l := range Locales {
			got := T(l, id, args...)
			if ph.MatchString(got) || (l != "en" && len(names(id)) == 0 && id != "" && got == "") {
				t.Errorf("%s %q: placeholders not filled: %q", l, id, got)
			}
			for _, n := range names(id) {
				if n != "Count" && !regexp.MustCompile("‹"+n+"›").MatchString(got) {
					t.Errorf("%s %q: drops {{.%s}}: %q", l, id, n, got)
				}
			}
		}
	}
}

func TestT(t *testing.T) {
	if got := T("de", "Sign in"); got != "Anmelden" {
		t.Errorf("de Sign in = %q", got)
	}
	if got := T("zh", "Sign in"); got != "登录" {
		t.Errorf("zh Sign in = %q", got)
	}
	if got := T("de", "not in the catalog"); got != "not in the catalog" {
		t.Errorf("unknown id = %q", got)
	}
	if got := T("en", "{{.Count}} members", "Count", 1); got != "1 member" {
		t.Errorf("en one = %q", got)
	}
	if got := T("de", "{{.Count}} members", "Count", 3); got != "3 Mitglieder" {
		t.Errorf("de other = %q", got)
	}
	if got := T("de", "Unknown {{.X}}", "X", "y"); got != "Unknown y" {
		t.Errorf("unknown id with args = %q", got)
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct{ locale, got, want string }{
		{"de", Money("de", 1234.56, "EUR"), "1.234,56 €"},
		{"en", Money("en", 1234.56, "EUR"), "€1,234.56"},
		{"zh", Money("zh", 1234.56, "CNY"), "￥1,234.56"},
		{"en", Money("en", -5, "USD"), "-$5.00"},
		{"de", Money("de", 5, "XYZ1"), "5,00 XYZ1"},
		{"de", Number("de", 1234.5), "1.234,50"},
		{"en", Number("en", 1234), "1,234"},
		{"de", DateString("de", "2026-01-02"), "02.01.2026"},
		{"en", DateString("en", "2026-01-02"), "Jan 2, 2026"},
		{"zh", DateString("zh", "2026-01-02"), "2026年1月2日"},
		{"de", DateString("de", "2026-01-02T15:04:05Z"), "02.01.2026, 15:04"},
		{"en", Time("en", time.Time{}), ""},
		{"de", DateString("de", "not a date"), "not a date"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.locale, tc.got, tc.want)
		}
	}
}

func TestChoose(t *testing.T) {
	r := httptest.NewRequest("GET", "/login", nil)
	r.Header.Set("Accept-Language", "de-CH, en;q=0.5")
	if got := Choose(nil, r, nil, "en"); got != "de" {
		t.Errorf("Accept-Language de-CH: %q", got)
	}
	r.Header.Set("Accept-Language", "zh-TW")
	if got := Choose(nil, r, nil, "en"); got != "zh" {
		t.Errorf("Accept-Language zh-TW: %q", got)
	}
	r.Header.Set("Accept-Language", "fr")
	if got := Choose(nil, r, nil, "de"); got != "de" {
		t.Errorf("fr with default de: %q", got)
	}
	if got := Choose(nil, r, &access.User{Locale: "zh"}, "de"); got != "zh" {
		t.Errorf("user locale: %q", got)
	}
	w := httptest.NewRecorder()
	q := httptest.NewRequest("GET", "/login?lang=zh", nil)
	if got := Choose(w, q, nil, "en"); got != "zh" || len(w.Result().Cookies()) != 1 {
		t.Errorf("?lang=zh: %q, cookies %v", got, w.Result().Cookies())
	}
	c := httptest.NewRequest("GET", "/forgot", nil)
	c.AddCookie(w.Result().Cookies()[0])
	c.Header.Set("Accept-Language", "de")
	if got := Choose(nil, c, nil, "en"); got != "zh" {
		t.Errorf("cookie: %q", got)
	}
}

func TestDeadline(t *testing.T) {
	for _, c := range []struct {
		locale string
		due    time.Time
		want   string
	}{
		{"en", time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC), "Dec 15, 2026"},
		{"de", time.Date(2026, 12, 16, 0, 0, 0, 0, time.UTC), "15.12.2026"},
		{"en", time.Date(2026, 12, 16, 9, 30, 0, 0, time.UTC), Time("en", time.Date(2026, 12, 16, 9, 30, 0, 0, time.UTC))},
		{"en", time.Time{}, ""},
	} {
		if got := Deadline(c.locale, c.due); got != c.want {
			t.Errorf("Deadline(%s, %v) = %q, want %q", c.locale, c.due, got, c.want)
		}
	}
}
