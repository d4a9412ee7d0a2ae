package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBrandFlagsRefused: serve and demo refuse a bad --brand-* value with
// a message naming the flag, before opening any database.
func TestBrandFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	gif := filepath.Join(dir, "logo.gif")
	big := filepath.Join(dir, "big.svg")
	empty := filepath.Join(dir, "empty.png")
	if err := os.WriteFile(gif, []byte("GIF89a\x01\x00\x01\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte("<svg>"+strings.Repeat(" ", 600<<10)+"</svg>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "never.db")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--brand-color", "blue"}, `--brand-color "blue": write the colour as #rgb or #rrggbb`},
		{[]string{"--brand-color", "#12"}, "--brand-color"},
		{[]string{"--brand-name", strings.Repeat("x", 61)}, "--brand-name: at most 60 characters"},
		{[]string{"--brand-logo", gif}, "--brand-logo: not a PNG, JPEG or SVG image"},
		{[]string{"--brand-logo", big}, "--brand-logo: the file has 524289 bytes; a logo may have at most 524288"},
		{[]string{"--brand-logo", empty}, "--brand-logo: the file is empty"},
		{[]string{"--brand-logo", filepath.Join(dir, "missing.png")}, "--brand-logo: open"},
	} {
		for _, cmd := range []string{"serve", "demo"} {
			_, err := runCLI(t, append([]string{cmd, "--db", db}, tc.args...)...)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %v: %v, want a usage error with %q", cmd, tc.args, err, tc.want)
			}
		}
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused brand opened the database: %v", err)
	}
}
