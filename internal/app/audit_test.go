package app_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// auditWorld is a store and app on both databases with an injected clock:
// staff admin "boss" (and its API token actor), external "cust" with L20
// on C1.
type auditWorld struct {
	a     *app.App
	st    store.Store
	clock *testClock
	boss  *app.Actor
	token *app.Actor
}

func withAuditWorld(t *testing.T, fn func(t *testing.T, w *auditWorld)) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return t.TempDir() + "/app.db" },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			clock := &testClock{now: time.Now().UTC().Truncate(time.Second)}
			st, err := sqlstore.Open(ctx, dsn(t), sqlstore.Options{Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			f, err := follow.Start(ctx, st, follow.Options{Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			a := app.New(st, f.Engine(), app.Config{})
			sys := app.SystemActor("test")
			if _, _, _, err := a.PutAccount(ctx, sys, "C1", app.AccountUpdate{Name: app.Some("Customer"), ExternalAccess: app.Some(true)}, true); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := a.PutUser(ctx, sys, "boss", app.UserUpdate{Email: app.Some("boss@example.com"), Kind: app.Some(access.KindInternal),
				StaffRole: app.Some(access.StaffAdmin)}, true); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := a.PutUser(ctx, sys, "cust", app.UserUpdate{Email: app.Some("cust@example.com"), HomeAccount: app.Some("C1")}, true); err != nil {
				t.Fatal(err)
			}
			if _, _, err := a.CreateGrant(ctx, sys, app.GrantUpdate{Principal: app.Some("user:cust"), Account: app.Some("C1"), Role: app.Some("L20")}); err != nil {
				t.Fatal(err)
			}
			u, _ := a.Engine().User("boss")
			boss := &app.Actor{User: u}
			_, secret, _, err := a.CreateToken(ctx, sys, app.TokenRequest{User: "boss", Name: "erp"})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := a.AuthenticateToken(ctx, secret)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, &auditWorld{a: a, st: st, clock: clock, boss: boss, token: tok})
		})
	}
}

func (w *auditWorld) entries(t *testing.T, f store.AuditFilter) []store.AuditEntry {
	t.Helper()
	f.Limit = 1000
	es, _, err := w.st.ListAudit(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestAudit_ViewAsReaudited(t *testing.T) {
	withAuditWorld(t, func(t *testing.T, w *auditWorld) {
		ctx := context.Background()
		count := func() int { return len(w.entries(t, store.AuditFilter{Action: "portal.view_as", Target: "user:cust"})) }
		// Opened by URL (a bookmark): no ViewAs first, still audited.
		if _, err := w.a.Portal(ctx, w.boss, "cust"); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 {
			t.Fatalf("first page as cust: %d entries, want 1", n)
		}
		for range 3 {
			w.clock.Advance(3 * time.Minute)
			if _, err := w.a.Portal(ctx, w.boss, "cust"); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(); n != 1 {
			t.Fatalf("9 minutes of pages: %d entries, want 1", n)
		}
		w.clock.Advance(2 * time.Minute)
		if _, err := w.a.Portal(ctx, w.boss, "cust"); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 2 {
			t.Fatalf("11 minutes after the first entry: %d entries, want 2", n)
		}
		es := w.entries(t, store.AuditFilter{Action: "portal.view_as"})
		if es[0].Actor != "user:boss" {
			t.Errorf("actor %q, want user:boss", es[0].Actor)
		}
		// Starting through the console counts as the entry of the next pages.
		w.clock.Advance(11 * time.Minute)
		if _, _, err := w.a.ViewAs(ctx, w.boss, "cust"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.Portal(ctx, w.boss, "cust"); err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 3 {
			t.Fatalf("ViewAs then a page: %d entries, want 3", n)
		}
	})
}

func TestAudit_AsUserRead(t *testing.T) {
	withAuditWorld(t, func(t *testing.T, w *auditWorld) {
		ctx := context.Background()
		list := func(c *app.Actor, as string) {
			t.Helper()
			if _, err := w.a.ListRecords(ctx, c, app.RecordList{Type: "sales_order", AsUser: as}); err != nil {
				t.Fatal(err)
			}
		}
		list(w.token, "")
		if es := w.entries(t, store.AuditFilter{Action: "as_user.read"}); len(es) != 0 {
			t.Fatalf("a read without as_user: %d entries", len(es))
		}
		list(w.token, "cust")
		list(w.token, "cust")
		w.clock.Advance(9 * time.Minute)
		if _, _, err := w.a.GetRecord(ctx, w.token, "sales_order", "none", "cust"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("GetRecord: %v", err)
		}
		es := w.entries(t, store.AuditFilter{Action: "as_user.read"})
		if len(es) != 1 || es[0].Actor != "token:"+w.token.TokenID || es[0].Target != "user:cust" {
			t.Fatalf("as_user reads by a token within 9 minutes: %+v, want one entry by token:%s", es, w.token.TokenID)
		}
		list(w.boss, "cust") // another actor: its own entry
		w.clock.Advance(2 * time.Minute)
		list(w.token, "cust")
		if es := w.entries(t, store.AuditFilter{Action: "as_user.read"}); len(es) != 3 {
			t.Fatalf("%d as_user entries, want 3 (token, boss, token again after 11 minutes)", len(es))
		}
	})
}

func TestAudit_ActorForms(t *testing.T) {
	withAuditWorld(t, func(t *testing.T, w *auditWorld) {
		ctx := context.Background()
		if _, _, _, err := w.a.PutAccount(ctx, w.boss, "C2", app.AccountUpdate{Name: app.Some("Two")}, true); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := w.a.PutAccount(ctx, w.token, "C3", app.AccountUpdate{Name: app.Some("Three")}, true); err != nil {
			t.Fatal(err)
		}
		g, _, err := w.a.CreateGrant(ctx, w.token, app.GrantUpdate{Principal: app.Some("user:cust"), Account: app.Some("C2"), Role: app.Some("L20")})
		if err != nil {
			t.Fatal(err)
		}
		if g.CreatedBy != "boss" {
			t.Errorf("grant created_by %q, want the token's user boss", g.CreatedBy)
		}
		// An entry of before #12, naming the user bare.
		if err := w.st.Log(ctx, store.AuditEntry{Actor: "boss", Action: "account.put", Target: "account:OLD"}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			filter string
			want   []string // actors, newest first
		}{
			{"boss", []string{"boss", "user:boss"}},
			{"user:boss", []string{"boss", "user:boss"}},
			{"token:" + w.token.TokenID, []string{"token:" + w.token.TokenID, "token:" + w.token.TokenID}},
			{"system:test", nil},
		} {
			es := w.entries(t, store.AuditFilter{Actor: tc.filter, Action: "account.put"})
			if tc.want == nil {
				if len(es) == 0 {
					t.Errorf("actor %s: no entries", tc.filter)
				}
				continue
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Actor)
			}
			if tc.filter[0] == 't' {
				es = w.entries(t, store.AuditFilter{Actor: tc.filter})
				got = got[:0]
				for _, e := range es {
					got = append(got, e.Actor)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("actor %s: %v, want %v", tc.filter, got, tc.want)
				continue
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("actor %s: %v, want %v", tc.filter, got, tc.want)
					break
				}
			}
		}
		for _, e := range w.entries(t, store.AuditFilter{}) {
			switch k := e.Actor; {
			case e.Target == "account:OLD":
			case len(k) > 5 && (k[:5] == "user:" || k[:6] == "token:" || k[:7] == "system:"):
			default:
				t.Errorf("entry %d %s by %q: not user:, token: or system:", e.ID, e.Action, k)
			}
		}
	})
}
