package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// brandFlags are --brand-name, --brand-logo and --brand-color (portal.md
// §8).
type brandFlags struct {
	name, logo, color *string
}

func defineBrandFlags(fs *flag.FlagSet) brandFlags {
	return brandFlags{
		name:  stringFlag(fs, "brand-name", "", `the name the portal, its sign-in page and its mails show in place of "Portcullis", e.g. "Northwind Portal"`),
		logo:  stringFlag(fs, "brand-logo", "", "a PNG, JPEG or SVG file (at most 512 KiB) shown before the brand name"),
		color: stringFlag(fs, "brand-color", "", "the accent colour of buttons and links, as #rgb or #rrggbb"),
	}
}

// setup reads and checks the brand: the pages' and, with the public URL
// (for the logo's address), the mails'.
func (f brandFlags) setup(publicURL string) (render.Brand, mail.Brand, error) {
	var logo []byte
	if *f.logo != "" {
		fh, err := os.Open(*f.logo)
		if err != nil {
			return render.Brand{}, mail.Brand{}, usageError{fmt.Sprintf("--brand-logo: %v", err)}
		}
		defer fh.Close()
		// One byte past the limit tells a file that is too large.
		if logo, err = io.ReadAll(io.LimitReader(fh, render.MaxLogoSize+1)); err != nil {
			return render.Brand{}, mail.Brand{}, usageError{fmt.Sprintf("--brand-logo: %v", err)}
		}
		if len(logo) == 0 {
			return render.Brand{}, mail.Brand{}, usageError{"--brand-logo: the file is empty"}
		}
	}
	b, err := render.NewBrand(*f.name, *f.color, logo)
	if err != nil {
		return render.Brand{}, mail.Brand{}, usageError{err.Error()}
	}
	var mb mail.Brand
	if *f.name != "" || b.Color != "" || b.HasLogo() {
		mb = mail.Brand{Name: b.DisplayName(), Color: b.Color}
		if b.HasLogo() && publicURL != "" {
			mb.LogoURL = publicURL + render.LogoPath
		}
	}
	return b, mb, nil
}
