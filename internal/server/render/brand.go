package render

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultBrandName is the name pages and mails carry without --brand-name.
const DefaultBrandName = "Portcullis"

// MaxLogoSize caps --brand-logo: a logo is a small image shown 2.5 rem high.
const MaxLogoSize = 512 << 10

// Paths the server serves the brand's logo and colours at.
const (
	LogoPath   = "/brand/logo"
	ColorsPath = "/brand/colors.css"
)

// Brand is how the portal, its sign-in page and its mails present the
// supplier (--brand-name, --brand-logo, --brand-color). The zero Brand is
// Portcullis' own. Create one with NewBrand, which validates it.
type Brand struct {
	// Name replaces "Portcullis" in page titles, the header and mails.
	Name string
	// Color is the accent colour as #rrggbb, or "" for the stylesheet's.
	Color string
	// Logo is the image shown before the name in the header; LogoType is
	// its content type (image/png, image/jpeg or image/svg+xml).
	Logo     []byte
	LogoType string
}

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// NewBrand validates a brand: a name of at most 60 characters without
// control characters (empty: Portcullis), a colour as #rgb or #rrggbb
// (empty: the stylesheet's), and a logo (may be empty) that is a PNG,
// JPEG or SVG image of at most MaxLogoSize bytes. The colour is returned
// as lower-case #rrggbb.
func NewBrand(name, color string, logo []byte) (Brand, error) {
	b := Brand{Name: strings.TrimSpace(name)}
	if b.Name == "" {
		b.Name = DefaultBrandName
	}
	if n := utf8.RuneCountInString(b.Name); n > 60 || !utf8.ValidString(b.Name) || strings.IndexFunc(b.Name, unicode.IsControl) >= 0 {
		return Brand{}, fmt.Errorf("--brand-name: at most 60 characters of text, without line breaks or control characters")
	}
	if color = strings.TrimSpace(color); color != "" {
		if !hexColor.MatchString(color) {
			return Brand{}, fmt.Errorf("--brand-color %q: write the colour as #rgb or #rrggbb, e.g. #0b5cad", color)
		}
		color = strings.ToLower(color)
		if len(color) == 4 {
			color = "#" + strings.Repeat(color[1:2], 2) + strings.Repeat(color[2:3], 2) + strings.Repeat(color[3:4], 2)
		}
		b.Color = color
	}
	if len(logo) > 0 {
		if len(logo) > MaxLogoSize {
			return Brand{}, fmt.Errorf("--brand-logo: the file has %d bytes; a logo may have at most %d (512 KiB)", len(logo), MaxLogoSize)
		}
		t := LogoType(logo)
		if t == "" {
			return Brand{}, fmt.Errorf("--brand-logo: not a PNG, JPEG or SVG image")
		}
		b.Logo, b.LogoType = logo, t
	}
	return b, nil
}

// LogoType is the content type of a logo's bytes (image/png, image/jpeg,
// image/svg+xml), or "" when they are none of those.
func LogoType(b []byte) string {
	switch t := http.DetectContentType(b); t {
	case "image/png", "image/jpeg":
		return t
	}
	// SVG: XML (or a comment, or a doctype) whose root element is <svg.
	s := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	for {
		switch {
		case bytes.HasPrefix(s, []byte("<?")):
			s = skipPast(s, "?>")
		case bytes.HasPrefix(s, []byte("<!--")):
			s = skipPast(s, "-->")
		case bytes.HasPrefix(s, []byte("<!")):
			s = skipPast(s, ">")
		case bytes.HasPrefix(s, []byte("<svg")) && len(s) > 4 && (s[4] == ' ' || s[4] == '>' || s[4] == '\n' || s[4] == '\t' || s[4] == '\r'):
			return "image/svg+xml"
		default:
			return ""
		}
		if s == nil {
			return ""
		}
	}
}

// skipPast returns s after the first end, trimmed, or nil without one.
func skipPast(s []byte, end string) []byte {
	i := bytes.Index(s, []byte(end))
	if i < 0 {
		return nil
	}
	return bytes.TrimSpace(s[i+len(end):])
}

// HasLogo reports whether the brand has a logo (served at LogoPath).
func (b Brand) HasLogo() bool { return len(b.Logo) > 0 }

// DisplayName is the brand's name, Portcullis when none is set.
func (b Brand) DisplayName() string {
	if b.Name == "" {
		return DefaultBrandName
	}
	return b.Name
}

// ColorsCSS is the stylesheet served at ColorsPath: the accent colour as
// the stylesheet's custom properties, with a text colour on it that
// contrasts (white on dark accents, near-black on light ones).
func (b Brand) ColorsCSS() string {
	if b.Color == "" {
		return ""
	}
	fg := "#fff"
	if luminance(b.Color) > 0.179 {
		fg = "#1b1f24"
	}
	return ":root { --accent: " + b.Color + "; --accent-fg: " + fg + "; }\n"
}

// luminance is the relative luminance (WCAG 2) of #rrggbb.
func luminance(c string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(c[i:i+2], 16, 8)
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}
