package server

import (
	"bytes"
	"net/http"
	"time"

	"github.com/portcullis-dev/portcullis/internal/server/render"
)

// brandRoutes serves the brand's logo and colours (portal.md §8) at fixed
// paths, when the brand has them.
//
// The logo is served with its validated content type and nosniff (the
// server's headers). An SVG may hold scripts: pages show the logo only
// through <img>, where none runs, and the logo's own response carries a
// CSP that runs nothing and sandboxes the document should someone open it
// directly.
func brandRoutes(mux *http.ServeMux, b render.Brand) {
	started := time.Now()
	if b.HasLogo() {
		mux.HandleFunc("GET "+render.LogoPath, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", b.LogoType)
			h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
			h.Set("Cache-Control", "public, max-age=3600")
			http.ServeContent(w, r, "", started, bytes.NewReader(b.Logo))
		})
	}
	if css := b.ColorsCSS(); css != "" {
		mux.HandleFunc("GET "+render.ColorsPath, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/css; charset=utf-8")
			w.Header().Set("Cache-Control", "public, max-age=3600")
			http.ServeContent(w, r, "", started, bytes.NewReader([]byte(css)))
		})
	}
}
