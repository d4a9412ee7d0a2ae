package render

import (
	"html"
	"regexp"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/i18n"
)

var (
	pageTag  = regexp.MustCompile(`(?s)<[^>]*>`)
	pageAttr = regexp.MustCompile(`(?:aria-label|placeholder|title|alt)="([^"]*)"`)
)

// Untranslated lists the texts of a page rendered in locale that are
// English messages of the catalog left untranslated: every text between
// tags and every labelling attribute (aria-label, placeholder, title,
// alt) that is a catalog id whose translation differs. Template tests
// use it to catch a text that bypasses the catalog.
func Untranslated(page, locale string) []string {
	var out []string
	check := func(s string) {
		s = strings.Join(strings.Fields(html.UnescapeString(s)), " ")
		for _, part := range strings.Split(s, " · ") {
			part = strings.TrimSpace(part)
			if part != "" && i18n.Has(part) && i18n.T(locale, part) != part {
				out = append(out, part)
			}
		}
	}
	for _, m := range pageAttr.FindAllStringSubmatch(page, -1) {
		check(m[1])
	}
	for _, s := range pageTag.Split(page, -1) {
		check(s)
	}
	return out
}
