package render

import (
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// TestFillKept: a kept form fills the inputs of the form it was sent
// from, by name, as text (never as markup); hidden and password inputs
// keep what the page had, and other forms stay as they are.
func TestFillKept(t *testing.T) {
	page := `<!doctype html><html><body>
<form method="post" action="/logout"><input name="title" value="not me"></form>
<form method="post" action="" id="f">
<input name="title" value="old"><input type="hidden" name="version" value="7"><input type="password" name="pw_again" value="">
<textarea name="notes">old notes</textarea>
<select name="type"><option value="a" selected>A</option><option value="b">B</option></select>
<select name="keep"><option value="a" selected>A</option></select>
<input type="checkbox" name="urgent" value="1"><input type="checkbox" name="quiet" value="1" checked>
<input name="qty" value=""><input name="qty" value="">
</form></body></html>`
	kept := &surface.Kept{Action: "/a/C1/ticket/new", Values: map[string][]string{"title": {`new "one" <b>`}, "version": {"1"}, "pw_again": {"x"},
		"notes": {"</textarea><script>alert(1)</script>"}, "type": {"b"}, "keep": {"zzz"}, "urgent": {"1"}, "qty": {"2", "3"}}}
	out, err := fillKept([]byte(page), "/a/C1/ticket/new", kept)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{`<input name="title" value="not me"/>`, `<input name="title" value="new &#34;one&#34; &lt;b&gt;"/>`,
		`name="version" value="7"`, `name="pw_again" value=""`, `<textarea name="notes">&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;</textarea>`,
		`<option value="a">A</option><option value="b" selected="">B</option>`, `<select name="keep"><option value="a" selected="">A</option>`,
		`name="urgent" value="1" checked=""`, `<input type="checkbox" name="quiet" value="1"/>`, `<input name="qty" value="2"/><input name="qty" value="3"/>`} {
		if !strings.Contains(s, want) {
			t.Errorf("filled page lacks %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "<script>") {
		t.Fatalf("a kept value became markup: %s", s)
	}
}
