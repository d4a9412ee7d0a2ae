package app_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// backends runs fn on a fresh SQLite file and a fresh PostgreSQL database.
func backends(t *testing.T, fn func(t *testing.T, a *app.App, st store.Store)) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return t.TempDir() + "/app.db" },
		"postgres": func(t *testing.T) string { return pgtest.DSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, st := openApp(t, dsn(t))
			fn(t, a, st)
		})
	}
}

// openApp opens a store on dsn with a follower and the use cases over
// them, closed when t ends.
func openApp(t testing.TB, dsn string) (*app.App, store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return app.New(st, f.Engine(), app.Config{}), st
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestGrants_CreateRacingRevoke is the proof that writes are authorized
// inside their transaction: a customer admin keeps creating grants while
// staff revoke the admin's own manage_users grant. No grant the admin
// creates may commit after the revoke, and every create after it must be
// refused.
func TestGrants_CreateRacingRevoke(t *testing.T) {
	backends(t, func(t *testing.T, a *app.App, st store.Store) {
		ctx := context.Background()
		staff := app.SystemActor("test")
		must[access.Account](t)(func() (access.Account, error) {
			acct, _, _, err := a.PutAccount(ctx, staff, "C1", app.AccountUpdate{Name: app.Some("Customer"), ExternalAccess: app.Some(true)}, true)
			return acct, err
		}())
		const users = 60
		newUser := func(id string) {
			t.Helper()
			_, _, _, err := a.PutUser(ctx, staff, id, app.UserUpdate{Email: app.Some(id + "@example.com"), HomeAccount: app.Some("C1")}, true)
			if err != nil {
				t.Fatal(err)
			}
		}
		for round := range 5 {
			adm := fmt.Sprintf("adm%d", round)
			newUser(adm)
			admGrant := must[access.Grant](t)(func() (access.Grant, error) {
				g, _, err := a.CreateGrant(ctx, staff, app.GrantUpdate{Principal: app.Some("user:" + adm), Account: app.Some("C1"), Role: app.Some("L80")})
				return g, err
			}())
			for i := range users {
				newUser(fmt.Sprintf("r%du%d", round, i))
			}
			admin := &app.Actor{User: must[access.User](t)(a.GetUser(ctx, staff, adm))}

			type result struct {
				rev int64
				err error
			}
			results := make([]result, users)
			var revokeRev int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, rev, err := a.CreateGrant(ctx, admin, app.GrantUpdate{
						Principal: app.Some(fmt.Sprintf("user:r%du%d", round, i)), Account: app.Some("C1"), Role: app.Some("L20")})
					results[i] = result{rev, err}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				rev, err := a.DeleteGrant(ctx, staff, admGrant.ID)
				if err != nil {
					t.Error(err)
				}
				revokeRev = rev
			}()
			close(start)
			wg.Wait()

			ok, refused := 0, 0
			for i, r := range results {
				switch {
				case r.err == nil && r.rev > revokeRev:
					t.Errorf("round %d: grant %d committed at revision %d, after the revoke at %d", round, i, r.rev, revokeRev)
				case r.err == nil:
					ok++
				case access.ErrorCode(r.err) == access.CodeForbidden:
					refused++
				default:
					t.Errorf("round %d: grant %d: unexpected error %v", round, i, r.err)
				}
			}
			// What the store holds agrees: every grant of the admin's
			// stands, and no more than were acknowledged.
			page := must[app.Page[access.Grant]](t)(a.ListGrants(ctx, staff, app.GrantFilter{Account: "C1", ListParams: app.ListParams{Limit: 500}}))
			stored := 0
			for _, g := range page.Items {
				if g.CreatedBy == adm {
					stored++
				}
			}
			if stored != ok {
				t.Errorf("round %d: %d grants acknowledged, %d stored", round, ok, stored)
			}
			t.Logf("round %d: %d created before the revoke, %d refused", round, ok, refused)
		}
	})
}
