// Package web holds the HTML templates and static files of the customer
// portal and the admin console, embedded in the binary.
package web

import "embed"

// Templates are the html/template files: layout.html defines the page
// frame; every other file defines a "content" template (and optionally a
// "title") for one page.
//
//go:embed templates/*.html
var Templates embed.FS

// Static holds the stylesheet and the small script served under /static/.
//
//go:embed static
var Static embed.FS
