package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/demo"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// BenchmarkPortalPages times the portal's home, list and search pages on
// the demo world (SQLite), as Carla (L40 billing on Acme) sees them, and
// reports the process CPU time per page (cpu-ms/op), the figure that
// stays meaningful on a shared machine:
//
//	go test -run '^$' -bench PortalPages ./internal/server/
func BenchmarkPortalPages(b *testing.B) {
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, b.TempDir()+"/demo.db", sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := demo.Seed(ctx, st, f.Engine(), time.Now()); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(server.New(st, f.Engine(), server.Config{Version: "bench"}).Handler())
	defer hs.Close()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	res, err := hc.PostForm(hs.URL+"/login", url.Values{"email": {"carla.l40@acme.example"}, "password": {demo.Password}, "next": {"/"}})
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("sign in: %v %v", err, res)
	}
	res.Body.Close()
	for _, page := range []struct{ name, path string }{
		{"home", "/a/C-ACME/"}, {"list", "/a/C-ACME/sales_order"}, {"search", "/a/C-ACME/sales_order?q=SO-1003"},
		{"search-filtered", "/a/C-ACME/sales_order?q=phone&attr.status=open"},
	} {
		path := page.path
		b.Run(page.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				res, err := hc.Get(hs.URL + path)
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("%s: %v %v", path, err, res)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
