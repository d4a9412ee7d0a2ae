package browsertest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/mail/mailtest"
	"github.com/portcullis-dev/portcullis/internal/mail/send"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// newMailEnv is newEnv with mail: a real SMTP server started by the test,
// the node's sender delivering to it, and links to the test server.
func newMailEnv(t *testing.T) (*env, *mailtest.Server) {
	t.Helper()
	browser(t)
	dst := filepath.Join(t.TempDir(), "portcullis.db")
	if err := copyDB(template(t), dst); err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), dst, sqlstore.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	f, err := follow.Start(context.Background(), st, follow.Options{Clock: clock})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	smtp := mailtest.Start(t)
	cfg, err := send.ParseSMTPURL(smtp.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := send.NewSMTP(cfg, "Northwind portal <portal@northwind.example>")
	if err != nil {
		t.Fatal(err)
	}
	lw := &testLogWriter{t: t}
	logger := slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The sender's clock is the real one: the store's is fixed, and a
	// message is due from its creation on.
	sender := send.NewSender(send.SenderConfig{Outbox: st, Transport: tr, Interval: 50 * time.Millisecond, Logger: logger,
		Clock: func() time.Time { return time.Now().Add(time.Hour) }})
	ts := httptest.NewUnstartedServer(nil)
	public := "http://" + ts.Listener.Addr().String()
	srv := server.New(st, f.Engine(), server.Config{Logger: logger, Version: "browsertest",
		Mail: app.MailConfig{PublicURL: public, Delivery: true, Kick: sender.Kick}})
	ts.Config.Handler = srv.Handler()
	ts.Start()
	sender.Start()
	t.Cleanup(func() {
		sender.Stop()
		ts.Close()
		f.Close()
		st.Close()
		lw.stop()
	})
	return &env{t: t, st: st, eng: f.Engine(), srv: ts}, smtp
}

// pathOf is the path of a link to the test server.
func (e *env) pathOf(link string) string {
	e.t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host != e.srv.URL {
		e.t.Fatalf("the link %q does not point at the server %s", link, e.srv.URL)
	}
	return u.Path
}

// TestMail_InviteAcceptResetEndToEnd: an admin invites in the console, the
// mail arrives at a real SMTP server, the link is followed in Chromium, a
// password is set and the user lands in the portal; the link used again
// shows the dead-link page; a reset mail arrives and works once; a
// "password changed" mail follows.
func TestMail_InviteAcceptResetEndToEnd(t *testing.T) {
	e, smtp := newMailEnv(t)
	email := "nora.new" + uniq() + "@acme.example"
	const pw1, pw2 = "violet harbour lantern 42", "amber quarry whistle 17"

	adm := e.newTab("admin")
	adm.signInDemo(staffAdm)
	adm.mustStatus("invitations page", adm.open("/admin/invitations"), http.StatusOK)
	adm.fill("Email", email)
	adm.fill("Name", "Nora New")
	adm.fill("Home account", "C-ACME")
	adm.choose("Role on the home account", "L20")
	adm.mustStatus("invite", adm.navigate("send the invitation", chromedp.Click(button("Send the invitation"))), http.StatusOK)
	if got := adm.flash(); !strings.Contains(got, "invitation was sent") {
		t.Fatalf("after inviting: flash %q: %s", got, adm.text())
	}
	adm.mustSee(email, "pending")

	inv := smtp.Wait(t, email, "Your invitation to the customer portal")
	link := inv.Link("/invite/")
	if link == "" || !strings.Contains(inv.HTML, link) {
		t.Fatalf("the invitation carries no link:\n%s", inv.Text)
	}
	nora := e.newTab("nora")
	nora.mustStatus("accept page", nora.open(e.pathOf(link)), http.StatusOK)
	nora.mustSee("Welcome", email)
	nora.fill("New password", pw1)
	nora.fill("New password again", pw1)
	nora.mustStatus("accept", nora.navigate("accept", chromedp.Click(button("Accept and sign in"))), http.StatusOK)
	if loc := nora.location(); !strings.HasPrefix(loc, "/a/C-ACME") && loc != "/" {
		t.Fatalf("after accepting, Nora is at %s: %s", loc, nora.text())
	}
	nora.mustSee("Acme Manufacturing")
	// The link works once.
	again := e.newTab("again")
	again.mustStatus("the used link", again.open(e.pathOf(link)), http.StatusNotFound)
	again.mustSee("This link no longer works")
	if strings.Contains(again.text(), email) {
		t.Fatalf("the dead-link page names the user")
	}
	// The stored message no longer holds its link.
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, _, err := e.st.ListOutbox(context.Background(), store.OutboxFilter{Status: store.OutboxSent})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) > 0 {
			token := link[strings.LastIndex(link, "/")+1:]
			for _, m := range msgs {
				if m.Secret != "" || strings.Contains(m.Text+m.HTML, token) {
					t.Fatalf("a sent message keeps its secret: %+v", m)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the invitation is not marked sent")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Forgot password, from the sign-in page.
	anon := e.newTab("forgot")
	anon.mustStatus("sign-in page", anon.open("/login"), http.StatusOK)
	anon.mustStatus("forgot page", anon.navigate("forgot password", chromedp.Click(link2("Forgot password?"))), http.StatusOK)
	anon.fill("Email", email)
	anon.mustStatus("ask for a link", anon.navigate("send the link", chromedp.Click(button("Send the link"))), http.StatusOK)
	anon.mustSee("Check your mail")
	reset := smtp.Wait(t, email, "Reset your password")
	rlink := reset.Link("/reset/")
	anon.mustStatus("reset page", anon.open(e.pathOf(rlink)), http.StatusOK)
	anon.fill("New password", pw2)
	anon.fill("New password again", pw2)
	anon.mustStatus("reset", anon.navigate("set the password", chromedp.Click(button("Set the new password"))), http.StatusOK)
	anon.mustSee("Your password was changed")
	anon.signIn(email, pw2)
	smtp.Wait(t, email, "Your password was changed")
	// The reset link works once.
	anon.mustStatus("the used reset link", anon.open(e.pathOf(rlink)), http.StatusNotFound)
	anon.mustSee("This link no longer works")
}

// link2 is the first link whose text is text (link, for a name that
// does not clash with the test's variables).
func link2(text string) chromedp.JSPath { return link(text) }
