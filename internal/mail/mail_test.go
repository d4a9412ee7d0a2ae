package mail_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/mail"
	"github.com/portcullis-dev/portcullis/internal/mail/mailtest"
	"github.com/portcullis-dev/portcullis/internal/mail/send"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// backends runs fn on SQLite and PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, t.TempDir()+"/mail.db") })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.DSN(t)) })
}

func mustOpen(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// enqueue writes n messages to the outbox with one write (the outbox has
// no other way in).
func enqueue(t *testing.T, st store.Store, n int, status string) {
	t.Helper()
	var msgs []store.Message
	for range n {
		i := int(seq.Add(1)) - 1
		c := mail.PasswordReset("en", mail.ResetData{Name: "Ann", Link: store.SecretMarker})
		msgs = append(msgs, store.Message{Kind: "password_reset", To: fmt.Sprintf("user%d@example.com", i), Locale: "en",
			Subject: c.Subject, Text: c.Text, HTML: c.HTML, Secret: fmt.Sprintf("https://portal.example.com/reset/secret-%d", i), Status: status})
	}
	if _, _, err := st.PutAccount(context.Background(), store.Write{Actor: "test", Mail: msgs},
		access.Account{ID: fmt.Sprintf("A%d", time.Now().UnixNano()), Name: "A", Kind: "customer", Inherit: true}); err != nil {
		t.Fatal(err)
	}
}

// seq numbers the recipients of enqueue: user0@..., user1@...
var seq atomic.Int64

func transport(t *testing.T, srv *mailtest.Server) *send.SMTP {
	t.Helper()
	cfg, err := send.ParseSMTPURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := send.NewSMTP(cfg, "Portcullis <portal@supplier.example>")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSender_DeliversAndRedacts(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		st := mustOpen(t, dsn)
		srv := mailtest.Start(t)
		seq.Store(0)
		enqueue(t, st, 1, store.OutboxPending)
		s := send.NewSender(send.SenderConfig{Outbox: st, Transport: transport(t, srv)})
		if n, err := s.RunOnce(ctx); err != nil || n != 1 {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		m := srv.Wait(t, "user0@example.com", "Reset your password")
		if got := m.Link("/reset/"); got != "https://portal.example.com/reset/secret-0" {
			t.Errorf("the delivered text carries %q, want the secret link:\n%s", got, m.Text)
		}
		if !strings.Contains(m.HTML, `href="https://portal.example.com/reset/secret-0"`) {
			t.Errorf("the HTML part lacks the link:\n%s", m.HTML)
		}
		msgs, _, err := st.ListOutbox(ctx, store.OutboxFilter{})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("outbox: %v %v", msgs, err)
		}
		got := msgs[0]
		if got.Status != store.OutboxSent || got.Secret != "" || strings.Contains(got.Text+got.HTML, "secret-0") {
			t.Errorf("a sent message keeps its secret or status: %+v", got)
		}
	})
}

func TestSender_RetriesWithBackoff(t *testing.T) {
	ctx := context.Background()
	st := mustOpen(t, t.TempDir()+"/mail.db")
	srv := mailtest.Start(t)
	srv.FailNext(1)
	seq.Store(0)
	enqueue(t, st, 1, store.OutboxPending)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := send.NewSender(send.SenderConfig{Outbox: st, Transport: transport(t, srv), Clock: clock})
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ := st.ListOutbox(ctx, store.OutboxFilter{})
	if m := msgs[0]; m.Status != store.OutboxPending || m.Attempts != 1 || !strings.Contains(m.LastError, "try again later") ||
		m.NextAttemptAt == nil || m.NextAttemptAt.Before(now.Add(29*time.Second)) {
		t.Fatalf("after a temporary failure: %+v", m)
	}
	// Not due yet: nothing is claimed.
	if n, _ := s.RunOnce(ctx); n != 0 {
		t.Fatalf("claimed %d messages before their retry time", n)
	}
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	if n, _ := s.RunOnce(ctx); n != 1 {
		t.Fatalf("the retry claimed %d messages", n)
	}
	srv.Wait(t, "user0@example.com", "Reset")
	// A message that keeps failing is failed after 24 hours.
	srv.FailNext(1000)
	enqueue(t, st, 1, store.OutboxPending)
	for range 30 {
		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		if _, err := s.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	failed, _, _ := st.ListOutbox(ctx, store.OutboxFilter{Status: store.OutboxFailed})
	if len(failed) != 1 || failed[0].LastError == "" || failed[0].Secret != "" {
		t.Fatalf("after 24 hours of failures: %+v", failed)
	}
}

func TestSender_NotSentStays(t *testing.T) {
	ctx := context.Background()
	st := mustOpen(t, t.TempDir()+"/mail.db")
	enqueue(t, st, 2, store.OutboxNotSent)
	s := send.NewSender(send.SenderConfig{Outbox: st, Transport: transport(t, mailtest.Start(t))})
	if n, _ := s.RunOnce(ctx); n != 0 {
		t.Fatalf("a not_sent message was claimed")
	}
}

// TestSender_TwoNodesNeverSendTwice runs two senders (two nodes: two
// store instances) on one database and checks every message arrives once.
func TestSender_TwoNodesNeverSendTwice(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		st1 := mustOpen(t, dsn)
		st2 := mustOpen(t, dsn)
		srv := mailtest.Start(t)
		seq.Store(0)
		const n = 60
		for range n / 10 {
			enqueue(t, st1, 10, store.OutboxPending)
		}
		tr := transport(t, srv)
		a := send.StartSender(send.SenderConfig{Outbox: st1, Transport: tr, Node: "a", Interval: 5 * time.Millisecond, Batch: 3})
		b := send.StartSender(send.SenderConfig{Outbox: st2, Transport: tr, Node: "b", Interval: 5 * time.Millisecond, Batch: 3})
		deadline := time.Now().Add(30 * time.Second)
		for len(srv.Messages()) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		a.Stop()
		b.Stop()
		seen := map[string]int{}
		for _, m := range srv.Messages() {
			seen[m.To[0]]++
		}
		if len(srv.Messages()) != n {
			t.Errorf("%d messages arrived, want %d", len(srv.Messages()), n)
		}
		for to, c := range seen {
			if c != 1 {
				t.Errorf("%s got %d copies", to, c)
			}
		}
	})
}

func TestMessages_Locales(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	inv := mail.InvitationData{Name: "Zoë <b>", Inviter: "Ann", Company: "Acme", Link: store.SecretMarker, Expires: at}
	for _, tc := range []struct {
		locale, subject, text string
	}{
		{"en", "Your invitation to the customer portal", "Ann has invited you to the customer portal for Acme."},
		{"de-CH", "Ihre Einladung zum Kundenportal", "Ann hat Sie in das Kundenportal für Acme eingeladen."},
		{"zh", "您受邀使用客户门户", "Ann 邀请您使用 Acme 的客户门户。"},
		{"fr", "Your invitation to the customer portal", "2026-03-01 12:00 UTC"},
	} {
		c := mail.Invitation(tc.locale, inv)
		if c.Subject != tc.subject || !strings.Contains(c.Text, tc.text) || !strings.Contains(c.Text, store.SecretMarker) {
			t.Errorf("%s: %q\n%s", tc.locale, c.Subject, c.Text)
		}
		if !strings.Contains(c.HTML, `href="`+store.SecretMarker+`"`) || strings.Contains(c.HTML, "<b>") {
			t.Errorf("%s: the HTML must carry the marker as its link and escape the name:\n%s", tc.locale, c.HTML)
		}
	}
	for _, c := range []mail.Content{
		mail.PasswordChanged("de", mail.NoticeData{Name: "Jörg", At: at}),
		mail.EmailChanged("zh", mail.EmailChangeData{OldEmail: "a@x", NewEmail: "b@x", At: at}),
		mail.MFAChanged("en", true, mail.NoticeData{At: at}),
		mail.MFAChanged("de", false, mail.NoticeData{At: at}),
	} {
		if c.Subject == "" || !strings.Contains(c.Text, "2026-03-01") || !strings.Contains(c.HTML, "2026-03-01") {
			t.Errorf("notice %q lacks its date:\n%s", c.Subject, c.Text)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		url, want string
		bad       bool
	}{
		{url: "smtp://user:pw@mail.example.com", want: "user@mail.example.com:587 (starttls)"},
		{url: "smtp://mail.example.com:2525", want: "mail.example.com:2525 (starttls)"},
		{url: "smtps://u:p@mail.example.com", want: "u@mail.example.com:465 (tls)"},
		{url: "smtp://localhost:25?tls=none", want: "localhost:25 (none)"},
		{url: "smtp://localhost?tls=maybe", bad: true},
		{url: "http://mail.example.com", bad: true},
		{url: "smtp://", bad: true},
	} {
		c, err := send.ParseSMTPURL(tc.url)
		if (err != nil) != tc.bad || (!tc.bad && c.Redacted() != tc.want) {
			t.Errorf("%s: %v %v", tc.url, c.Redacted(), err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("an error shows the password: %v", err)
		}
	}
}

func TestMessages_NewComment(t *testing.T) {
	d := mail.CommentData{Name: "Ann", Author: "Northwind support", Record: "Ticket TK-1", Body: "Fixed <script>", Link: "https://p.example/r/ticket/TK-1"}
	for locale, subject := range map[string]string{"en": "New comment on Ticket TK-1", "de": "Neuer Kommentar zu Ticket TK-1", "zh": "Ticket TK-1 有新评论"} {
		c := mail.NewComment(locale, d)
		if c.Subject != subject || !strings.Contains(c.Text, "Northwind support") || !strings.Contains(c.Text, "Fixed <script>") ||
			!strings.Contains(c.Text, d.Link) {
			t.Errorf("%s: %q\n%s", locale, c.Subject, c.Text)
		}
		if strings.Contains(c.HTML, "<script>") || !strings.Contains(c.HTML, `href="`+d.Link+`"`) {
			t.Errorf("%s: the HTML must escape the comment and link the record:\n%s", locale, c.HTML)
		}
	}
}

func TestMessages_Review(t *testing.T) {
	// Due "2026-03-31" is the end of that UTC day, as the API stores it.
	due := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	d := mail.ReviewData{Name: "Dave", Requester: "Sam <Staff>", Company: "Acme", Link: "https://p.example/reviews/rv_1", Entries: 7, Due: due}
	subjects := map[string]bool{}
	for _, locale := range mail.Locales {
		for _, c := range []mail.Content{mail.ReviewAssigned(locale, d), mail.ReviewReminder(locale, d)} {
			if subjects[c.Subject] || !strings.Contains(c.Subject, "Acme") || strings.Contains(c.Text+c.Subject, "%!") {
				t.Errorf("%s: subject %q", locale, c.Subject)
			}
			subjects[c.Subject] = true
			if !strings.Contains(c.Text, "7") || !strings.Contains(c.Text, "2026-03-31") || !strings.Contains(c.HTML, `href="`+d.Link+`"`) {
				t.Errorf("%s: %s", locale, c.Text)
			}
			if strings.Contains(c.HTML, "<Staff>") {
				t.Errorf("%s: the HTML does not escape the requester", locale)
			}
		}
	}
	keep, revoke := mail.ReviewAssigned("en", d), mail.ReviewAssigned("en", mail.ReviewData{RevokeUnanswered: true, Company: "Acme"})
	if !strings.Contains(keep.Text, "keep their access") || !strings.Contains(revoke.Text, "lose their access") {
		t.Errorf("what happens to unanswered entries:\n%s\n%s", keep.Text, revoke.Text)
	}
}
