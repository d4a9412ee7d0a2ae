package app_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

const goodPassword = "a long and uncommon passphrase"

// signinWorld is two customers, each with an admin (L80) and a colleague
// with a password, and one staff admin; the app's hashing gate is counted.
type signinWorld struct {
	a        *app.App
	st       store.Store
	hasher   *auth.Hasher
	staff    *app.Actor
	adm, col *app.Actor // customer admin and colleague at C1
}

// withWorld runs fn on a signinWorld over a fresh SQLite file and a fresh
// PostgreSQL database.
func withWorld(t *testing.T, cfg app.Config, fn func(t *testing.T, w *signinWorld)) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return t.TempDir() + "/app.db" },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := sqlstore.Open(ctx, dsn(t), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			f, err := follow.Start(ctx, st, follow.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			c := cfg
			if c.Hasher == nil {
				c.Hasher = auth.NewHasher(0, 0)
			}
			w := &signinWorld{a: app.New(st, f.Engine(), c), st: st, hasher: c.Hasher, staff: app.SystemActor("test")}
			w.setup(t)
			fn(t, w)
		})
	}
}

func (w *signinWorld) setup(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, acct := range []string{"C1", "C2"} {
		if _, _, _, err := w.a.PutAccount(ctx, w.staff, acct, app.AccountUpdate{Name: app.Some("Customer " + acct), ExternalAccess: app.Some(true)}, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct{ id, home, role string }{
		{"adm", "C1", "L80"}, {"col", "C1", "L20"}, {"adm2", "C2", "L80"}, {"other", "C2", "L20"},
	} {
		if _, _, _, err := w.a.PutUser(ctx, w.staff, u.id, app.UserUpdate{Email: app.Some(u.id + "@example.com"), HomeAccount: app.Some(u.home)}, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.a.CreateGrant(ctx, w.staff, app.GrantUpdate{Principal: app.Some("user:" + u.id), Account: app.Some(u.home), Role: app.Some(u.role)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.SetPassword(ctx, w.staff, u.id, app.PasswordChange{Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
	}
	w.adm, w.col = w.actor(t, "adm"), w.actor(t, "col")
}

func (w *signinWorld) actor(t *testing.T, id string) *app.Actor {
	t.Helper()
	u, ok := w.a.Engine().User(id)
	if !ok {
		t.Fatalf("no user %s", id)
	}
	return &app.Actor{User: u}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if access.ErrorCode(err) != code {
		t.Fatalf("error %v, want %s", err, code)
	}
}

// TestLogin_ConcurrentGuesses is the burst of issue 10: 200 parallel wrong
// guesses for one email from one address check at most 5 passwords, and
// the right password after the burst is refused like a wrong one.
func TestLogin_ConcurrentGuesses(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		before := w.hasher.Computations()
		var wg sync.WaitGroup
		var limited, wrong atomic.Int64
		for i := range 200 {
			wg.Go(func() {
				_, err := w.a.Login(context.Background(), "col@example.com", fmt.Sprintf("wrong guess %d", i), "192.0.2.1")
				switch access.ErrorCode(err) {
				case access.CodeRateLimited:
					limited.Add(1)
				case access.CodeUnauthenticated:
					wrong.Add(1)
				default:
					t.Errorf("Login: %v", err)
				}
			})
		}
		wg.Wait()
		if n := w.hasher.Computations() - before; n > 5 || n != wrong.Load() {
			t.Errorf("%d password checks (%d wrong answers), want at most 5", n, wrong.Load())
		}
		if limited.Load() < 195 {
			t.Errorf("%d rate limited, want at least 195", limited.Load())
		}
		_, err := w.a.Login(context.Background(), "col@example.com", goodPassword, "192.0.2.1")
		wantCode(t, err, access.CodeRateLimited)
		// The same email from another address is not locked out.
		if _, err := w.a.Login(context.Background(), "col@example.com", goodPassword, "198.51.100.9"); err != nil {
			t.Errorf("sign-in from another address: %v", err)
		}
	})
}

// TestLogin_UnknownEmailsBoundedMemory signs in 1,000 unknown emails at
// once: every argon2 computation waits for the gate, so the process grows
// by far less than 300 MiB. It asserts counts and memory, never latency.
func TestLogin_UnknownEmailsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 concurrent sign-ins: not in -short")
	}
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		runtime.GC()
		base := rss(t)
		var peak atomic.Int64
		done := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Go(func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					if r := rss(t); r > peak.Load() {
						peak.Store(r)
					}
				}
			}
		})
		before := w.hasher.Computations()
		var wg sync.WaitGroup
		var unauth, busy atomic.Int64
		for i := range 1000 {
			wg.Go(func() {
				ip := fmt.Sprintf("10.%d.%d.1", i/250, i%250)
				_, err := w.a.Login(context.Background(), fmt.Sprintf("nobody%d@example.com", i), "some password", ip)
				switch access.ErrorCode(err) {
				case access.CodeUnauthenticated:
					unauth.Add(1)
				case access.CodeUnavailable:
					busy.Add(1)
				default:
					t.Errorf("Login: %v", err)
				}
			})
		}
		wg.Wait()
		close(done)
		sampler.Wait()
		if n := w.hasher.Computations() - before; n != unauth.Load() || unauth.Load()+busy.Load() != 1000 {
			t.Errorf("%d computations, %d unauthenticated, %d unavailable; want every sign-in answered, each 401 after one computation", n, unauth.Load(), busy.Load())
		}
		growth := peak.Load() - base
		t.Logf("RSS %d MiB → peak %d MiB; %d answered 401, %d 503", base>>20, peak.Load()>>20, unauth.Load(), busy.Load())
		if growth > 300<<20 {
			t.Errorf("RSS grew by %d MiB, want under 300 MiB", growth>>20)
		}
	})
}

// rss returns the process's resident set size in bytes.
func rss(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

func TestLogin_RulesBeforeHashing(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		ctx := context.Background()
		before := w.hasher.Computations()
		_, err := w.a.Login(ctx, "col@example.com", strings.Repeat("x", 20<<20), "192.0.2.1")
		wantCode(t, err, access.CodeInvalid)
		_, err = w.a.SetPassword(ctx, w.col, "col", app.PasswordChange{Password: strings.Repeat("x", 257), CurrentPassword: goodPassword})
		wantCode(t, err, access.CodeInvalid)
		_, err = w.a.SetPassword(ctx, w.col, "col", app.PasswordChange{Password: "a new password!", CurrentPassword: strings.Repeat("x", 257)})
		wantCode(t, err, access.CodeInvalid)
		if n := w.hasher.Computations() - before; n != 0 {
			t.Errorf("%d computations for too long passwords", n)
		}
		// Signing in stores last_login_at.
		if _, err := w.a.Login(ctx, "col@example.com", goodPassword, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		u, err := w.a.GetUser(ctx, w.col, "col")
		if err != nil || u.LastLoginAt == nil {
			t.Errorf("GetUser after sign-in = %+v, %v; want last_login_at", u, err)
		}
	})
}

func TestSetPassword_Rules(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		ctx := context.Background()
		for _, pw := range []string{"short pw", "col@example.com", strings.Repeat("z", 16), "1qaz2wsx3edc"} {
			_, err := w.a.SetPassword(ctx, w.staff, "col", app.PasswordChange{Password: pw})
			wantCode(t, err, access.CodeInvalid)
		}
		// An existing password keeps working whatever the rules.
		if _, err := w.a.Login(ctx, "col@example.com", goodPassword, "192.0.2.1"); err != nil {
			t.Errorf("sign-in with the existing password: %v", err)
		}
	})
}

// TestSetPassword_CurrentPasswordThrottled: the current_password of a
// password change is checked like a sign-in: 200 parallel wrong ones check
// at most 5.
func TestSetPassword_CurrentPasswordThrottled(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		before := w.hasher.Computations()
		var wg sync.WaitGroup
		for i := range 200 {
			wg.Go(func() {
				_, err := w.a.SetPassword(context.Background(), w.col, "col", app.PasswordChange{
					Password: "a brand new passphrase", CurrentPassword: fmt.Sprintf("guess %d", i), IP: "192.0.2.7"})
				if c := access.ErrorCode(err); c != access.CodeForbidden && c != access.CodeRateLimited {
					t.Errorf("SetPassword: %v", err)
				}
			})
		}
		wg.Wait()
		if n := w.hasher.Computations() - before; n > 5 {
			t.Errorf("%d current_password checks, want at most 5", n)
		}
	})
}

func TestPutUser_EmailAndConstraints(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		ctx := context.Background()
		patch := func(c *app.Actor, id string, in app.UserUpdate) error {
			_, _, _, err := w.a.PutUser(ctx, c, id, in, false)
			return err
		}
		cons := app.Some(map[string]map[string][]string{"ticket": {"type": {"question"}}})
		// A customer admin changes no email and no constraints, not even its own.
		wantCode(t, patch(w.adm, "col", app.UserUpdate{Email: app.Some("x@attacker.example")}), access.CodeForbidden)
		wantCode(t, patch(w.adm, "col", app.UserUpdate{Constraints: cons}), access.CodeForbidden)
		wantCode(t, patch(w.adm, "adm", app.UserUpdate{Constraints: cons}), access.CodeForbidden)
		wantCode(t, patch(w.adm, "adm", app.UserUpdate{Email: app.Some("new-adm@example.com")}), access.CodeInvalid) // needs current_password
		// The user itself, with its current password.
		wantCode(t, patch(w.col, "col", app.UserUpdate{Email: app.Some("col2@example.com"), CurrentPassword: "wrong password!"}), access.CodeForbidden)
		if err := patch(w.col, "col", app.UserUpdate{Email: app.Some("col2@example.com"), CurrentPassword: goodPassword, Locale: app.Some("de")}); err != nil {
			t.Fatalf("self email change: %v", err)
		}
		u, _ := w.a.GetUser(ctx, w.staff, "col")
		if u.Email != "col2@example.com" || u.Locale != "de" {
			t.Errorf("after the change: %+v", u)
		}
		// Only name, email and locale.
		wantCode(t, patch(w.col, "col", app.UserUpdate{HomeAccount: app.Some("C2")}), access.CodeForbidden)
		wantCode(t, patch(w.col, "col", app.UserUpdate{Locale: app.Some("fr")}), access.CodeInvalid)
		// Taken elsewhere: the neutral answer.
		err := patch(w.col, "col", app.UserUpdate{Email: app.Some("other@example.com"), CurrentPassword: goodPassword})
		wantCode(t, err, access.CodeConflict)
		if strings.Contains(err.Error(), "other") {
			t.Errorf("the answer names the other user: %v", err)
		}
		// Staff may change both.
		if err := patch(w.staff, "col", app.UserUpdate{Email: app.Some("col3@example.com"), Constraints: cons}); err != nil {
			t.Errorf("staff change: %v", err)
		}
	})
}

// TestNoEnumeration: a customer admin gets one answer for a user id or
// email outside its reach whatever the reason.
func TestNoEnumeration(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		ctx := context.Background()
		msg := func(err error) string {
			t.Helper()
			if err == nil {
				t.Fatal("no error")
			}
			return access.ErrorCode(err) + ": " + strings.NewReplacer("other", "ID", "nobody", "ID").Replace(err.Error())
		}
		same := func(what string, a, b error) {
			t.Helper()
			if ma, mb := msg(a), msg(b); ma != mb {
				t.Errorf("%s: %q vs %q", what, ma, mb)
			}
		}
		_, e1 := w.a.GetUser(ctx, w.adm, "other")
		_, e2 := w.a.GetUser(ctx, w.adm, "nobody")
		same("GetUser", e1, e2)
		_, _, _, e1 = w.a.PutUser(ctx, w.adm, "other", app.UserUpdate{Name: app.Some("x")}, false)
		_, _, _, e2 = w.a.PutUser(ctx, w.adm, "nobody", app.UserUpdate{Name: app.Some("x")}, false)
		same("PATCH user", e1, e2)
		_, _, _, e1 = w.a.PutUser(ctx, w.adm, "other", app.UserUpdate{Email: app.Some("fresh1@example.com"), HomeAccount: app.Some("C1")}, true)
		_, _, _, e2 = w.a.PutUser(ctx, w.adm, "fresh2", app.UserUpdate{Email: app.Some("other@example.com"), HomeAccount: app.Some("C1")}, true)
		if access.ErrorCode(e1) != access.CodeConflict || e1.Error() != e2.Error() {
			t.Errorf("PUT user: id taken elsewhere %v, email taken elsewhere %v; want one conflict", e1, e2)
		}
		// An email within its reach names the user.
		_, _, _, e3 := w.a.PutUser(ctx, w.adm, "fresh3", app.UserUpdate{Email: app.Some("col@example.com"), HomeAccount: app.Some("C1")}, true)
		if ae, ok := e3.(*access.Error); !ok || ae.ExistingID != "col" {
			t.Errorf("email in reach: %v, want existing_id col", e3)
		}
		_, _, e1 = w.a.CreateGrant(ctx, w.adm, app.GrantUpdate{Principal: app.Some("user:other"), Account: app.Some("C1"), Role: app.Some("L20")})
		_, _, e2 = w.a.CreateGrant(ctx, w.adm, app.GrantUpdate{Principal: app.Some("user:nobody"), Account: app.Some("C1"), Role: app.Some("L20")})
		same("CreateGrant", e1, e2)
		page, err := w.a.ListUsers(ctx, w.adm, app.UserFilter{Query: "other@example.com"})
		if err != nil || len(page.Items) != 0 {
			t.Errorf("ListUsers by another customer's email = %+v, %v", page.Items, err)
		}
	})
}

func TestStatus_EndsSessions(t *testing.T) {
	withWorld(t, app.Config{}, func(t *testing.T, w *signinWorld) {
		ctx := context.Background()
		for _, status := range []string{access.StatusInvited, access.StatusDisabled} {
			u, err := w.a.Login(ctx, "col@example.com", goodPassword, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			secret, _, err := w.a.StartSession(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.a.AuthenticateSession(ctx, secret); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := w.a.PutUser(ctx, w.adm, "col", app.UserUpdate{Status: app.Some(status)}, false); err != nil {
				t.Fatalf("customer admin sets %s: %v", status, err)
			}
			if _, _, _, err := w.a.PutUser(ctx, w.adm, "col", app.UserUpdate{Status: app.Some(access.StatusActive)}, false); err != nil {
				t.Fatal(err)
			}
			_, err = w.a.AuthenticateSession(ctx, secret)
			wantCode(t, err, access.CodeUnauthenticated)
		}
	})
}
