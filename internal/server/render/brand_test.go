package render

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"
)

func TestNewBrand(t *testing.T) {
	var pngLogo bytes.Buffer
	if err := png.Encode(&pngLogo, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	b, err := NewBrand("  Northwind Portal ", "#C41", pngLogo.Bytes())
	if err != nil || b.Name != "Northwind Portal" || b.Color != "#cc4411" || b.LogoType != "image/png" || !b.HasLogo() {
		t.Fatalf("NewBrand: %+v, %v", b, err)
	}
	if b, err := NewBrand("", "", nil); err != nil || b.DisplayName() != "Portcullis" || b.HasLogo() || b.ColorsCSS() != "" {
		t.Fatalf("the default brand: %+v, %v", b, err)
	}
	for _, svg := range []string{`<svg xmlns="http://www.w3.org/2000/svg"/>`, "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- logo -->\n<!DOCTYPE svg>\n<svg>\n</svg>"} {
		if b, err := NewBrand("", "", []byte(svg)); err != nil || b.LogoType != "image/svg+xml" {
			t.Errorf("SVG %q: %+v, %v", svg, b, err)
		}
	}
	for _, tc := range []struct {
		name, color string
		logo        []byte
		want        string
	}{
		{"x", "red", nil, "--brand-color \"red\": write the colour as #rgb or #rrggbb"},
		{"x", "#12345", nil, "--brand-color"},
		{"x", "#ggg", nil, "--brand-color"},
		{"x", "#0b5cad;}body{", nil, "--brand-color"},
		{strings.Repeat("n", 61), "", nil, "--brand-name: at most 60 characters"},
		{"Two\nlines", "", nil, "--brand-name"},
		{"x", "", []byte("GIF89a......"), "--brand-logo: not a PNG, JPEG or SVG image"},
		{"x", "", []byte("<html><svg></svg></html>"), "--brand-logo: not a PNG, JPEG or SVG image"},
		{"x", "", append(pngLogo.Bytes(), make([]byte, MaxLogoSize)...), "--brand-logo: the file has"},
	} {
		if _, err := NewBrand(tc.name, tc.color, tc.logo); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewBrand(%q, %q): %v, want %q", tc.name, tc.color, err, tc.want)
		}
	}
	// Text on the accent contrasts with it.
	for color, fg := range map[string]string{"#0b5cad": "#fff", "#ffd400": "#1b1f24", "#000000": "#fff", "#ffffff": "#1b1f24"} {
		b, _ := NewBrand("", color, nil)
		if want := ":root { --accent: " + color + "; --accent-fg: " + fg + "; }\n"; b.ColorsCSS() != want {
			t.Errorf("%s: %q, want %q", color, b.ColorsCSS(), want)
		}
	}
}
