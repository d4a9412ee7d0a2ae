package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/mail"
)

// TestBrandApply: a brand heads and signs every message in its locale and
// colours its button; the zero brand changes nothing; names are escaped.
func TestBrandApply(t *testing.T) {
	c := mail.PasswordChanged("zh", mail.NoticeData{Name: "李雷", At: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)})
	if got := (mail.Brand{}).Apply(c); got.Text != c.Text || got.HTML != c.HTML {
		t.Fatal("the zero brand changed the message")
	}
	b := mail.Brand{Name: "北风 <Portal>", Color: "#c2410c"}.Apply(c)
	if !strings.HasPrefix(b.Text, "北风 <Portal>\n\n") || !strings.Contains(b.Text, "此邮件来自 北风 <Portal>。") ||
		!strings.Contains(b.HTML, "北风 &lt;Portal&gt;</p>") || !strings.Contains(b.HTML, "color: #c2410c") || strings.Contains(b.HTML, "<Portal>") {
		t.Fatalf("branded:\n%s\n%s", b.Text, b.HTML)
	}
	inv := mail.Brand{Name: "Northwind", Color: "#c2410c", LogoURL: "https://p.example/brand/logo"}.Apply(mail.Invitation("de", mail.InvitationData{Link: "https://x"}))
	if !strings.Contains(inv.HTML, "background: #c2410c") || !strings.Contains(inv.HTML, `<img src="https://p.example/brand/logo"`) ||
		!strings.Contains(inv.Text, "Diese Nachricht kommt von Northwind.") {
		t.Fatalf("invitation:\n%s\n%s", inv.Text, inv.HTML)
	}
}
