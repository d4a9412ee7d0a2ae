package sqlstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// TestMain is in testmain_test.go (it stops pgtest's cluster).

// backend names a database for the tests: dsn returns a fresh one.
type backend struct {
	name string
	dsn  func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "portcullis.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
}

// eachBackend runs f on SQLite and on PostgreSQL.
func eachBackend(t *testing.T, f func(t *testing.T, dsn string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.dsn(t)) })
	}
}

// mustOpen opens a store on dsn with a follower that polls every 50 ms;
// both end with tb.
func mustOpen(tb testing.TB, dsn string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	f, err := follow.Start(context.Background(), s, follow.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		tb.Fatalf("follow.Start: %v", err)
	}
	tb.Cleanup(func() { f.Close() })
	followers.Store(s, f)
	return s
}

// isPG reports whether s runs on PostgreSQL (tests that read plans).
func isPG(s *Store) bool {
	_, ok := s.dialect.(*postgresDialect)
	return ok
}

// followers maps the stores of mustOpen to their followers.
var followers sync.Map // *Store → *follow.Follower

// engine returns the engine of the follower mustOpen attached to s.
func engine(s *Store) *access.Engine {
	f, ok := followers.Load(s)
	if !ok {
		panic("sqlstore test: engine of a store not opened by mustOpen")
	}
	return f.(*follow.Follower).Engine()
}

func mustPutAccount(tb testing.TB, s *Store, a access.Account) int64 {
	tb.Helper()
	_, rev, err := s.PutAccount(context.Background(), store.Write{Actor: "admin"}, a)
	if err != nil {
		tb.Fatalf("PutAccount(%s): %v", a.ID, err)
	}
	return rev
}

func mustPutUser(tb testing.TB, s *Store, u access.User) int64 {
	tb.Helper()
	_, rev, err := s.PutUser(context.Background(), store.Write{Actor: "admin"}, u)
	if err != nil {
		tb.Fatalf("PutUser(%s): %v", u.ID, err)
	}
	return rev
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := access.ErrorCode(err); got != code {
		tb.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func ext(id, home string) access.User {
	return access.User{ID: id, Kind: access.KindExternal, Name: id, Email: id + "@example.com", HomeAccount: home, Status: access.StatusActive}
}

func TestRevision_IncrementsAndLogsChanges(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		if s.Revision() != 0 {
			t.Fatalf("fresh store at revision %d", s.Revision())
		}
		r1 := mustPutAccount(t, s, access.Account{ID: "C1", Name: "Customer", Inherit: true})
		r2 := mustPutAccount(t, s, access.Account{ID: "C1-1", Name: "Sold-to", Parent: "C1", Inherit: true})
		if r1 != 1 || r2 != 2 || s.Revision() != 2 {
			t.Fatalf("revisions %d, %d, applied %d; want 1, 2, 2", r1, r2, s.Revision())
		}
		// Putting the same account again changes nothing.
		if r := mustPutAccount(t, s, access.Account{ID: "C1", Name: "Customer", Inherit: true}); r != 2 {
			t.Fatalf("no-op put: revision %d, want 2", r)
		}
		rows, err := s.query(ctx, `SELECT revision, kind, key FROM change_log ORDER BY revision`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var rev int64
			var kind, key string
			if err := rows.Scan(&rev, &kind, &key); err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Join([]string{string(rune('0' + rev)), kind, key}, " "))
		}
		if want := "1 account C1|2 account C1-1"; strings.Join(got, "|") != want {
			t.Fatalf("change log %q, want %q", strings.Join(got, "|"), want)
		}
		if a, ok := engine(s).Account("C1-1"); !ok || a.Parent != "C1" {
			t.Fatalf("engine account C1-1 = %+v, %v", a, ok)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func TestAccounts_SwitchCreatesGroupAndGrantOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		on := access.Account{ID: "C1", Name: "Acme", ExternalAccess: true, Inherit: true}
		mustPutAccount(t, s, on)
		check := func() access.Grant {
			t.Helper()
			g, err := s.GetGroup(ctx, "acct:C1")
			if err != nil {
				t.Fatalf("GetGroup: %v", err)
			}
			if g.Name != "Acme external users" || g.Account != "C1" {
				t.Fatalf("group %+v", g)
			}
			gs, _, err := s.ListGrants(ctx, store.GrantFilter{Account: "C1"})
			if err != nil || len(gs) != 1 {
				t.Fatalf("grants on C1: %+v, %v; want one", gs, err)
			}
			g0 := gs[0]
			if g0.Principal != "group:acct:C1" || g0.Role != policy.Default().DefaultGroupRole.Name || g0.Scope != access.ScopeSubtree {
				t.Fatalf("group grant %+v", g0)
			}
			if _, ok := engine(s).Grant(g0.ID); !ok {
				t.Fatalf("engine lacks grant %s", g0.ID)
			}
			return g0
		}
		first := check()
		off := on
		off.ExternalAccess = false
		mustPutAccount(t, s, off)
		check() // switching off deletes nothing
		mustPutAccount(t, s, on)
		if again := check(); again.ID != first.ID {
			t.Fatalf("switching on again made grant %s, had %s", again.ID, first.ID)
		}
		// A missing grant is recreated by the next switch-on.
		if _, err := s.DeleteGrant(ctx, store.Write{Actor: "admin"}, first.ID); err != nil {
			t.Fatal(err)
		}
		mustPutAccount(t, s, off)
		mustPutAccount(t, s, on)
		if again := check(); again.ID == first.ID {
			t.Fatalf("grant not recreated")
		}
		// Deleting the account is blocked by the group grant.
		_, err := s.DeleteAccount(ctx, store.Write{Actor: "admin"}, "C1")
		wantCode(t, err, access.CodeConflict)
		if !strings.Contains(err.Error(), "grants") {
			t.Fatalf("conflict message %q does not name grants", err)
		}
	})
}

func TestAccounts_Errors(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		_, _, err := s.PutAccount(ctx, store.Write{Actor: "admin"}, access.Account{ID: "X", Parent: "nope"})
		wantCode(t, err, access.CodeInvalid)
		mustPutAccount(t, s, access.Account{ID: "A"})
		mustPutAccount(t, s, access.Account{ID: "B", Parent: "A"})
		mustPutAccount(t, s, access.Account{ID: "C", Parent: "B"})
		_, _, err = s.PutAccount(ctx, store.Write{Actor: "admin"}, access.Account{ID: "A", Parent: "C"})
		wantCode(t, err, access.CodeInvalid)
		_, _, err = s.PutAccount(ctx, store.Write{Actor: "admin"}, access.Account{ID: "A", Parent: "A"})
		wantCode(t, err, access.CodeInvalid)
		_, err = s.DeleteAccount(ctx, store.Write{Actor: "admin"}, "B")
		wantCode(t, err, access.CodeConflict)
		_, err = s.DeleteAccount(ctx, store.Write{Actor: "admin"}, "nope")
		wantCode(t, err, access.CodeNotFound)
		mustPutUser(t, s, ext("u1", "C"))
		g, _, err := s.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "user:u1", Account: "C", Role: "L90"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.DeleteAccount(ctx, store.Write{Actor: "admin"}, "C")
		wantCode(t, err, access.CodeProtected)
		_, err = s.DeleteGrant(ctx, store.Write{Actor: "admin"}, g.ID)
		wantCode(t, err, access.CodeProtected)
		_, err = s.DeleteUser(ctx, store.Write{Actor: "admin"}, "u1")
		wantCode(t, err, access.CodeProtected)
		// Moving is allowed; the engine follows.
		mustPutAccount(t, s, access.Account{ID: "C", Parent: "A"})
		if a, _ := engine(s).Account("C"); a.Parent != "A" {
			t.Fatalf("engine parent of C = %q", a.Parent)
		}
		_, err = s.DeleteAccount(ctx, store.Write{Actor: "admin"}, "B")
		if err != nil {
			t.Fatalf("DeleteAccount(B): %v", err)
		}
		if _, ok := engine(s).Account("B"); ok {
			t.Fatal("engine still has B")
		}
	})
}

func TestUsersGroupsGrants(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		mustPutAccount(t, s, access.Account{ID: "C1", ExternalAccess: true, Inherit: true})
		u := ext("u1", "C1")
		u.Email = "Ann@Example.com"
		u.Constraints = map[string]map[string][]string{"ticket": {"type": {"incident"}}}
		mustPutUser(t, s, u)
		got, err := s.GetUserByEmail(ctx, "ann@example.COM")
		if err != nil || got.ID != "u1" || got.Constraints["ticket"]["type"][0] != "incident" {
			t.Fatalf("GetUserByEmail = %+v, %v", got, err)
		}
		dup := ext("u2", "C1")
		dup.Email = "ANN@example.com"
		_, _, err = s.PutUser(ctx, store.Write{Actor: "admin"}, dup)
		wantCode(t, err, access.CodeConflict)
		_, _, err = s.PutUser(ctx, store.Write{Actor: "admin"}, ext("u3", "nope"))
		wantCode(t, err, access.CodeInvalid)

		g, _, err := s.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "user:u1", Account: "C1", Role: "L20"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(g.ID, "g_") || g.Scope != access.ScopeSubtree || g.Access != access.AccessReadWrite || g.CreatedBy != "admin" {
			t.Fatalf("created grant %+v", g)
		}
		_, _, err = s.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "user:u1", Account: "C1", Role: "L10"})
		var ae *access.Error
		if !errors.As(err, &ae) || ae.Code != access.CodeConflict || ae.ExistingID != g.ID {
			t.Fatalf("duplicate grant: %v", err)
		}
		_, _, err = s.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "user:u1", Account: "C1", Role: "L99"})
		wantCode(t, err, access.CodeInvalid)
		_, _, err = s.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "group:none", Account: "C1", Role: "L10"})
		wantCode(t, err, access.CodeInvalid)
		days := 30
		g.DaysBack, g.Role = &days, "L30"
		g2, _, err := s.UpdateGrant(ctx, store.Write{Actor: "admin"}, g)
		if err != nil || *g2.DaysBack != 30 {
			t.Fatalf("UpdateGrant = %+v, %v", g2, err)
		}
		if eg, _ := engine(s).Grant(g.ID); eg.Role != "L30" || eg.DaysBack == nil {
			t.Fatalf("engine grant %+v", eg)
		}

		if _, err := s.AddMember(ctx, store.Write{Actor: "admin"}, "acct:C1", "u1"); err != nil {
			t.Fatal(err)
		}
		if n := len(engine(s).UserGrants("u1")); n != 2 {
			t.Fatalf("engine: u1 has %d grants, want 2 (direct and group)", n)
		}
		_, err = s.AddMember(ctx, store.Write{Actor: "admin"}, "acct:C1", "ghost")
		wantCode(t, err, access.CodeInvalid)
		_, err = s.AddMember(ctx, store.Write{Actor: "admin"}, "ghost", "u1")
		wantCode(t, err, access.CodeNotFound)

		if err := s.CreateSession(ctx, store.Session{Hash: "h1", UserID: "u1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetPassword(ctx, store.Write{Actor: "admin"}, "u1", "hash"); err != nil {
			t.Fatal(err)
		}
		if h, _ := s.PasswordHash(ctx, "u1"); h != "hash" {
			t.Fatalf("PasswordHash = %q", h)
		}
		_, err = s.SessionByHash(ctx, "h1")
		wantCode(t, err, access.CodeNotFound) // revoked by SetPassword

		if _, err := s.DeleteUser(ctx, store.Write{Actor: "admin"}, "u1"); err != nil {
			t.Fatal(err)
		}
		if gs, _, _ := s.ListGrants(ctx, store.GrantFilter{Principal: "user:u1"}); len(gs) != 0 {
			t.Fatalf("grants survive the user: %+v", gs)
		}
		if grp, _ := s.GetGroup(ctx, "acct:C1"); len(grp.Members) != 0 {
			t.Fatalf("membership survives the user: %+v", grp)
		}
		if _, ok := engine(s).User("u1"); ok {
			t.Fatal("engine still has u1")
		}
	})
}

func TestPolicy_PutAndConflicts(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		pv, err := s.Policy(ctx)
		if err != nil || pv.Version != 0 || pv.Policy != policy.Default() {
			t.Fatalf("Policy = %+v, %v; want the default as version 0", pv, err)
		}
		_, _, err = s.PutPolicy(ctx, store.Write{Actor: "admin"}, []byte("roles: ["))
		wantCode(t, err, access.CodeInvalid)
		src := policy.DefaultYAML()
		pv, _, err = s.PutPolicy(ctx, store.Write{Actor: "admin"}, src)
		if err != nil || pv.Version != 1 {
			t.Fatalf("PutPolicy = %+v, %v", pv, err)
		}
		if engine(s).Policy() != pv.Policy {
			t.Fatal("engine policy not replaced")
		}
		mustPutAccount(t, s, access.Account{ID: "C1"})
		mustPutUser(t, s, ext("u1", "C1"))
		if _, _, err := s.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "user:u1", Account: "C1", Role: "L40"}); err != nil {
			t.Fatal(err)
		}
		// Renaming L40 removes a role in use.
		_, _, err = s.PutPolicy(ctx, store.Write{Actor: "admin"}, []byte(strings.ReplaceAll(string(src), "L40", "L45")))
		wantCode(t, err, access.CodeConflict)
		unprotect := strings.Replace(string(src), "protected: true", "protected: false", 1)
		if unprotect == string(src) {
			t.Fatal("default policy has no 'protected: true' to flip")
		}
		_, _, err = s.PutPolicy(ctx, store.Write{Actor: "admin"}, []byte(unprotect))
		wantCode(t, err, access.CodeConflict)
		vs, err := s.PolicyVersions(ctx)
		if err != nil || len(vs) != 1 || vs[0].Version != 1 {
			t.Fatalf("PolicyVersions = %+v, %v", vs, err)
		}
	})
}

func TestAudit_ChainDetectsTampering(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		mustPutAccount(t, s, access.Account{ID: "C1", ExternalAccess: true}) // 3 entries
		mustPutUser(t, s, ext("u1", "C1"))
		if err := s.Log(ctx, store.AuditEntry{Actor: "u1", Action: "session.create", Target: "user:u1"}); err != nil {
			t.Fatal(err)
		}
		v, err := s.VerifyAudit(ctx, "")
		if err != nil || !v.OK || v.Entries != 5 {
			t.Fatalf("VerifyAudit = %+v, %v; want ok with 5 entries", v, err)
		}
		page, next, err := s.ListAudit(ctx, store.AuditFilter{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != 5 || next == "" {
			t.Fatalf("ListAudit page 1 = %+v, %q, %v", page, next, err)
		}
		page, _, err = s.ListAudit(ctx, store.AuditFilter{Limit: 2, Cursor: next})
		if err != nil || len(page) != 2 || page[0].ID != 3 {
			t.Fatalf("ListAudit page 2 = %+v, %v", page, err)
		}
		byTarget, _, err := s.ListAudit(ctx, store.AuditFilter{Target: "account:C1"})
		if err != nil || len(byTarget) != 1 || byTarget[0].Action != "account.put" {
			t.Fatalf("ListAudit(target) = %+v, %v", byTarget, err)
		}
		if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE audit SET actor = ? WHERE id = ?`), "mallory", 2); err != nil {
			t.Fatal(err)
		}
		v, err = s.VerifyAudit(ctx, "")
		if err != nil || v.OK || v.FirstBad != 2 || v.Entries != 5 {
			t.Fatalf("after tampering VerifyAudit = %+v, %v; want first_bad 2", v, err)
		}
	})
}

func TestWaitRevision_Timeout(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		s := mustOpen(t, dsn)
		rev := mustPutAccount(t, s, access.Account{ID: "C1"})
		if err := s.WaitRevision(context.Background(), rev); err != nil {
			t.Fatalf("WaitRevision(current): %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.WaitRevision(ctx, rev+10)
		wantCode(t, err, access.CodeUnavailable)
		if d := time.Since(start); d < 90*time.Millisecond || d > 2*time.Second {
			t.Fatalf("WaitRevision returned after %v", d)
		}
	})
}

// TestCatchUp_SecondInstance checks that a second store on the same
// database follows the first one's writes: through WaitRevision, and
// through the follower alone within a second.
func TestCatchUp_SecondInstance(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		a := mustOpen(t, dsn)
		mustPutAccount(t, a, access.Account{ID: "C1", ExternalAccess: true})
		b := mustOpen(t, dsn)
		if _, ok := engine(b).Account("C1"); !ok || b.Revision() != a.Revision() {
			t.Fatalf("second instance did not load: revision %d vs %d", b.Revision(), a.Revision())
		}
		mustPutUser(t, a, ext("u1", "C1"))
		if _, err := a.AddMember(ctx, store.Write{Actor: "admin"}, "acct:C1", "u1"); err != nil {
			t.Fatal(err)
		}
		g, rev, err := a.CreateGrant(ctx, store.Write{Actor: "admin"}, access.Grant{Principal: "user:u1", Account: "C1", Role: "L30"})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := b.WaitRevision(wctx, rev); err != nil {
			t.Fatalf("WaitRevision: %v", err)
		}
		if n := len(engine(b).UserGrants("u1")); n != 2 {
			t.Fatalf("second instance: u1 has %d grants, want 2", n)
		}
		// Without WaitRevision: the follower (notification or poll).
		rev, err = a.DeleteGrant(ctx, store.Write{Actor: "admin"}, g.ID)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Second)
		for b.Revision() < rev {
			if time.Now().After(deadline) {
				t.Fatalf("second instance at revision %d after 1s, want %d", b.Revision(), rev)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, ok := engine(b).Grant(g.ID); ok {
			t.Fatal("second instance still has the deleted grant")
		}
		// A policy change travels too, and a full reload gives the same state.
		pv, rev, err := a.PutPolicy(ctx, store.Write{Actor: "admin"}, policy.DefaultYAML())
		if err != nil {
			t.Fatal(err)
		}
		if err := b.WaitRevision(wctx, rev); err != nil {
			t.Fatal(err)
		}
		if got := engine(b).Policy().Document().DefaultGroupRole; got != pv.Policy.Document().DefaultGroupRole {
			t.Fatalf("second instance policy default_group_role %q", got)
		}
		if err := b.reload(ctx); err != nil {
			t.Fatalf("reload: %v", err)
		}
		if n := len(engine(b).UserGrants("u1")); n != 1 {
			t.Fatalf("after reload u1 has %d grants, want 1", n)
		}
	})
}

func TestTokensAndSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		mustPutUser(t, s, access.User{ID: "ops", Kind: access.KindInternal, Email: "ops@x", Status: access.StatusActive, StaffRole: access.StaffAdmin})
		tok, _, err := s.CreateToken(ctx, store.Write{Actor: "ops"}, store.Token{UserID: "ops", Name: "erp", Hash: "th"})
		if err != nil || !strings.HasPrefix(tok.ID, "t_") {
			t.Fatalf("CreateToken = %+v, %v", tok, err)
		}
		got, err := s.TokenByHash(ctx, "th")
		if err != nil || got.ID != tok.ID || got.UserID != "ops" {
			t.Fatalf("TokenByHash = %+v, %v", got, err)
		}
		if _, err := s.DeleteToken(ctx, store.Write{Actor: "ops"}, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.TokenByHash(ctx, "th")
		wantCode(t, err, access.CodeNotFound)

		at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
		if err := s.CreateSession(ctx, store.Session{Hash: "sh", UserID: "ops", CreatedAt: at, LastSeen: at}); err != nil {
			t.Fatal(err)
		}
		later := at.Add(time.Hour)
		if err := s.TouchSession(ctx, "sh", later); err != nil {
			t.Fatal(err)
		}
		sess, err := s.SessionByHash(ctx, "sh")
		if err != nil || !sess.CreatedAt.Equal(at) || !sess.LastSeen.Equal(later) {
			t.Fatalf("SessionByHash = %+v, %v", sess, err)
		}
		if err := s.DeleteUserSessions(ctx, "ops"); err != nil {
			t.Fatal(err)
		}
		_, err = s.SessionByHash(ctx, "sh")
		wantCode(t, err, access.CodeNotFound)
	})
}

func TestOpen_MemoryAndMigrate(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, ":memory:")
	mustPutAccount(t, s, access.Account{ID: "C1"})
	if _, err := s.GetAccount(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	other := mustOpen(t, ":memory:")
	if _, err := other.GetAccount(ctx, "C1"); access.ErrorCode(err) != access.CodeNotFound {
		t.Fatalf("in-memory stores share data: %v", err)
	}
	dsn := filepath.Join(t.TempDir(), "m.db")
	for range 2 {
		if err := Migrate(ctx, dsn); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	if err := mustOpen(t, dsn).MigrationsCurrent(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestList_Pagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		for _, id := range []string{"A", "B", "C", "D", "E"} {
			mustPutAccount(t, s, access.Account{ID: id, Name: "n" + id})
		}
		var ids []string
		cursor := ""
		for {
			page, next, err := s.ListAccounts(ctx, store.AccountFilter{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				ids = append(ids, a.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if strings.Join(ids, "") != "ABCDE" {
			t.Fatalf("paged ids %v", ids)
		}
		roots := ""
		page, _, err := s.ListAccounts(ctx, store.AccountFilter{Parent: &roots, Query: "nc"})
		if err != nil || len(page) != 1 || page[0].ID != "C" {
			t.Fatalf("ListAccounts(query) = %+v, %v", page, err)
		}
		_, _, err = s.ListAccounts(ctx, store.AccountFilter{Cursor: "!!"})
		wantCode(t, err, access.CodeInvalid)
	})
}

// TestWrite_ConcurrentWritersSerialize checks that concurrent writes get
// distinct, gap-free revisions and one unbroken audit chain.
func TestWrite_ConcurrentWritersSerialize(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpen(t, dsn)
		const workers, each = 6, 8
		errs := make(chan error, workers)
		for w := range workers {
			go func() {
				for i := range each {
					id := string(rune('A'+w)) + string(rune('a'+i))
					if _, _, err := s.PutAccount(ctx, store.Write{Actor: "admin"}, access.Account{ID: id, Name: id}); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range workers {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if s.Revision() != workers*each {
			t.Fatalf("revision %d, want %d", s.Revision(), workers*each)
		}
		var n, distinct int64
		if err := s.queryRow(ctx, `SELECT count(*), count(DISTINCT revision) FROM change_log`).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		if n != workers*each || distinct != workers*each {
			t.Fatalf("change log: %d rows, %d revisions", n, distinct)
		}
		v, err := s.VerifyAudit(ctx, "")
		if err != nil || !v.OK || v.Entries != workers*each {
			t.Fatalf("VerifyAudit = %+v, %v", v, err)
		}
	})
}

// TestFollower_Notification checks that a second node sees a change
// without polling, long before its next poll: on PostgreSQL through
// LISTEN/NOTIFY, on SQLite through the file's data_version.
func TestFollower_Notification(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			dsn := be.dsn(t)
			ctx := context.Background()
			a := mustOpen(t, dsn)
			b, err := Open(ctx, dsn, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			fb, err := follow.Start(ctx, b, follow.Options{PollInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer fb.Close()
			time.Sleep(200 * time.Millisecond) // let the listener start
			rev := mustPutAccount(t, a, access.Account{ID: "N1"})
			deadline := time.Now().Add(time.Second)
			for b.Revision() < rev {
				if time.Now().After(deadline) {
					t.Fatalf("no notification: second node at %d, want %d", b.Revision(), rev)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if _, ok := fb.Engine().Account("N1"); !ok {
				t.Fatal("second node's engine lacks N1")
			}
			start := time.Now()
			if err := fb.Close(); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Close took %v", d)
			}
		})
	}
}

// TestWaitForChange_SQLite checks when WaitForChange returns on SQLite: at
// once on its first call (what came before the watch is unknown), then
// only for a revision another connection committed, also one made while
// nobody waited, and never for nothing: not twice for one commit that
// starts the WAL over after the checkpointer copied it all (the
// data_version changes as the WAL restarts and again as the commit's
// frames land; a wait that read the first returned, and the second woke
// the next wait).
func TestWaitForChange_SQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	a := mustOpen(t, path)
	b, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wait := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return b.WaitForChange(ctx)
	}
	idle := func(step string) {
		t.Helper()
		if err := wait(300 * time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: WaitForChange on an idle file = %v, want the deadline", step, err)
		}
	}
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("first WaitForChange = %v, want a change", err)
	}
	idle("after the first call")
	done := make(chan error, 1)
	go func() { done <- wait(10 * time.Second) }()
	time.Sleep(100 * time.Millisecond)
	mustPutAccount(t, a, access.Account{ID: "W1"})
	if err := <-done; err != nil {
		t.Fatalf("WaitForChange during a commit = %v, want a change", err)
	}
	idle("after the commit")
	mustPutAccount(t, a, access.Account{ID: "W2"})
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("WaitForChange after a commit = %v, want a change", err)
	}
	idle("after the second commit")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wait(time.Second); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForChange on a closed store = %v, want an error", err)
	}
}

func TestOpen_SQLitePragmas(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "p.db"))
	for _, db := range []struct {
		name string
		q    queryer
	}{{"writer", s.db}, {"reader", s.rdb}} {
		var mode string
		var fk, sync, busy int
		if err := db.q.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		db.q.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk)
		db.q.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync)
		db.q.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy)
		if mode != "wal" || fk != 1 || sync != 2 || busy != 5000 { // synchronous FULL
			t.Errorf("%s: journal_mode %s, foreign_keys %d, synchronous %d, busy_timeout %d", db.name, mode, fk, sync, busy)
		}
	}
	if _, err := s.rdb.ExecContext(ctx, `DELETE FROM accounts`); err == nil {
		t.Error("the read pool accepts writes")
	}
}
