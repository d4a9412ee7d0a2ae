package browsertest

import (
	"bytes"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestScreenshots writes the README's screenshots (docs/screenshots) from
// the demo world, served in-process, at 1280×800. It is a documentation
// tool, not a test: it runs only when PORTCULLIS_SCREENSHOTS names the
// directory to write to, and is skipped otherwise, under CI too:
//
//	PORTCULLIS_SCREENSHOTS=$PWD/docs/screenshots go test ./internal/browsertest -run TestScreenshots
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("PORTCULLIS_SCREENSHOTS")
	if dir == "" {
		t.Skip("writes the README's screenshots only when PORTCULLIS_SCREENSHOTS=<dir> is set (a documentation tool, skipped under CI too)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	orders := e.records(store.RecordQuery{Type: "sales_order", Accounts: []string{"C-ACME"}, Limit: 500})
	if len(orders) == 0 {
		t.Fatal("the demo world has no Acme orders")
	}
	newest, oldest := orders[0], orders[0]
	for _, o := range orders {
		if o.Date > newest.Date {
			newest = o
		}
		if o.Date < oldest.Date {
			oldest = o
		}
	}

	shots := []struct {
		file, user, lang string
		path             string
	}{
		{"portal-home.png", benL30, "", "/a/C-ACME/"},
		{"portal-orders-l20.png", annaL20, "", "/a/C-ACME/sales_order"},
		{"portal-order-l30.png", benL30, "", "/a/C-ACME/sales_order/" + newest.ID},
		{"portal-new-ticket.png", tinaTix, "", "/a/C-HOOLI-SITE1/ticket/new"},
		{"portal-company-users.png", daveAdmin, "", "/a/C-ACME/users"},
		{"portal-orders-de.png", maxMulti, "de", "/a/C-GLOBEX/sales_order"},
		{"admin-external-access.png", staffAdm, "", "/admin/accounts/C-ACME"},
		{"admin-access-checker.png", staffAdm, "", "/admin/check?user=U-RITA&type=sales_order&id=" + oldest.ID},
		{"admin-policy.png", staffAdm, "", "/admin/policy"},
		{"admin-view-as.png", staffAdm, "", "/admin/view-as/U-ANNA/a/C-ACME/sales_order"},
	}
	tabs := map[string]*tab{}
	for _, s := range shots {
		key := s.user + "/" + s.lang
		b := tabs[key]
		if b == nil {
			b = e.newTab(key)
			b.do("set the viewport", chromedp.EmulateViewport(1280, 800))
			b.signInDemo(s.user)
			if s.lang != "" {
				// The user's own language, chosen on the profile page.
				b.mustStatus("profile", b.open("/profile"), http.StatusOK)
				b.do("choose the language", chromedp.SetValue(chromedp.CSS("#profile_locale"), s.lang))
				b.mustStatus("save the language", b.navigate("save the language",
					chromedp.Click(chromedp.CSS(`form[action="/profile/locale"] button[type=submit]`))), http.StatusOK)
			}
			tabs[key] = b
		}
		b.mustStatus(s.file, b.open(s.path), http.StatusOK)
		shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("%s: %v", s.file, err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.file), recompress(t, shot), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%s)", filepath.Join(dir, s.file), s.path)
	}
}

// recompress re-encodes a PNG at the best compression.
func recompress(t *testing.T, b []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		t.Fatal(err)
	}
	if out.Len() >= len(b) {
		return b
	}
	return out.Bytes()
}
