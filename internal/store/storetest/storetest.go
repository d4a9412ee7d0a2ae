// Package storetest is the conformance suite of store.Store: every backend
// runs RunAll and must pass it unchanged. It tests what the doc comments of
// package store and DESIGN.md promise and nothing a backend merely happens
// to do: error codes, the account-switch side effects, revisions and
// waits, the access engine kept in step with every write, the audit log,
// record pagination, agreement between the engine's row predicate rendered
// as SQL and the engine's own decisions on a random world, and durability
// across a reopen.
//
// A backend's test wires it up like this:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunAll(t, storetest.Backend{
//			Open:   func(t *testing.T, o storetest.Options) (store.Store, string) { ... },
//			Reopen: func(t *testing.T, dsn string, o storetest.Options) store.Store { ... },
//		})
//	}
//
// Subtests are named after the area, the operation and the case, e.g.
// TestAccounts/Put/ErrCycle, so one failing promise is easy to run alone
// with -run.
package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
)

// Options configure a store the suite opens.
type Options struct {
	// Clock, when set, is the clock of the store and its access engine
	// (grant validity, days_back cutoffs, bookkeeping times). Nil means
	// time.Now.
	Clock func() time.Time
}

// Backend opens stores of one backend for the suite.
type Backend struct {
	// Open returns a fresh, empty store (built-in default policy, no
	// accounts, users or records) and the DSN it was opened on; the suite
	// attaches a follower (package follow) to it. The backend
	// closes the store when t ends; the suite may close it earlier, so a
	// second Close must be harmless (its error is ignored).
	Open func(t *testing.T, o Options) (store.Store, string)
	// Reopen opens another store instance on the database behind dsn, as
	// a restarted process (or, on a shared database, another node) would.
	// The first instance may still be open. The backend closes the new
	// store when t ends.
	Reopen func(t *testing.T, dsn string, o Options) store.Store
	// MultiNode is set for backends whose store instances on one database
	// notify each other of changes (PostgreSQL: DESIGN.md §4), so that
	// their followers keep each other's engines in step. It enables the
	// cross-instance tests of TestRevisions.
	MultiNode bool
}

// RunAll runs the whole conformance suite against b. Its areas
// (TestAccounts, TestGrants, ...) run in parallel with each other, each on
// stores of its own, so b.Open and b.Reopen must be safe for concurrent
// use; within an area, subtests run in order.
func RunAll(t *testing.T, b Backend) {
	if b.Open == nil || b.Reopen == nil {
		t.Fatal("storetest: Backend.Open and Backend.Reopen are required")
	}
	for _, area := range []struct {
		name string
		run  func(*testing.T, Backend)
	}{
		{"TestAccounts", testAccounts},
		{"TestExternalAccess", testExternalAccess},
		{"TestUsers", testUsers},
		{"TestUserStatus", testUserStatus},
		{"TestGroups", testGroups},
		{"TestGrants", testGrants},
		{"TestPolicy", testPolicy},
		{"TestTokens", testTokens},
		{"TestIdentityProviders", testIdentityProviders},
		{"TestSCIM", testSCIM},
		{"TestSessions", testSessions},
		{"TestEngineInStep", testEngineInStep},
		{"TestRevisions", testRevisions},
		{"TestAudit", testAudit},
		{"TestAuditSharing", testAuditSharing},
		{"TestRecords", testRecords},
		{"TestDecisionHeads", testDecisionHeads},
		{"TestDecisionHeadsRace", testDecisionHeadsRace},
		{"TestNumbers", testNumbers},
		{"TestBatch", testBatch},
		{"TestImport", testImport},
		{"TestListRecords", testListRecords},
		{"TestSearchAndCount", testSearchAndCount},
		{"TestTeamDuplicates", testTeamDuplicates},
		{"TestPredicate", testPredicate},
		{"TestPreview", testPreview},
		{"TestConcurrency", testConcurrency},
		{"TestWriteCheck", testWriteCheck},
		{"TestDurability", testDurability},
		{"TestConversation", testConversation},
		{"TestReviews", testReviews},
	} {
		t.Run(area.name, func(t *testing.T) {
			t.Parallel()
			area.run(t, b)
		})
	}
	t.Run("TestPing", func(t *testing.T) {
		t.Parallel()
		s, _ := b.open(t, Options{})
		if err := s.Ping(ctx(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// actor is the staff member the suite's writes are made by; by is the
// Write that names it.
const actor = "staff-admin"

var by = store.Write{Actor: actor}

// instance is a store under test with the access engine a follower
// (package follow) keeps in step with it, as every caller wires it.
type instance struct {
	store.Store
	f *follow.Follower
}

// Engine returns the instance's engine.
func (i *instance) Engine() *access.Engine { return i.f.Engine() }

// follows starts a follower on s, stopped when t ends (before the backend
// closes s: cleanups run last-in first-out).
func follows(t *testing.T, s store.Store, o Options) *instance {
	t.Helper()
	f, err := follow.Start(context.Background(), s, follow.Options{Clock: o.Clock})
	if err != nil {
		t.Fatalf("follow.Start: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &instance{Store: s, f: f}
}

// open returns a fresh store of b with a follower and its DSN.
func (b Backend) open(t *testing.T, o Options) (*instance, string) {
	t.Helper()
	s, dsn := b.Open(t, o)
	return follows(t, s, o), dsn
}

// reopen opens another instance of b on dsn with a follower.
func (b Backend) reopen(t *testing.T, dsn string, o Options) *instance {
	t.Helper()
	return follows(t, b.Reopen(t, dsn, o), o)
}

// ctx returns a context that ends with the test.
func ctx(t *testing.T) context.Context { return t.Context() }

// open returns a fresh store with the real clock.
func open(t *testing.T, b Backend) *instance {
	t.Helper()
	s, _ := b.open(t, Options{})
	return s
}

// wantCode fails the test unless err is an *access.Error with code. It
// returns the error for further checks (nil when it is not one).
func wantCode(t *testing.T, err error, code string) *access.Error {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want code %s", code)
		return nil
	}
	var e *access.Error
	if !errors.As(err, &e) {
		t.Errorf("got error %v (not an *access.Error), want code %s", err, code)
		return nil
	}
	if e.Code != code {
		t.Errorf("got error %v, want code %s", err, code)
	}
	return e
}

// wantMessageMentions fails unless e's message contains every word
// (case-insensitively).
func wantMessageMentions(t *testing.T, e *access.Error, words ...string) {
	t.Helper()
	if e == nil {
		return
	}
	msg := strings.ToLower(e.Message)
	for _, w := range words {
		if !strings.Contains(msg, strings.ToLower(w)) {
			t.Errorf("error message %q does not mention %q", e.Message, w)
		}
	}
}

// account returns an account with inherit on (the model's default) and the
// switch off.
func account(id, parent string) access.Account {
	return access.Account{ID: id, Name: "Account " + id, Kind: "customer", Parent: parent, Inherit: true}
}

// external returns an active external user homed in home.
func external(id, home string) access.User {
	return access.User{ID: id, Kind: access.KindExternal, Name: "User " + id, Email: id + "@example.com",
		HomeAccount: home, Status: access.StatusActive, Locale: access.LocaleDefault}
}

// internal returns an active internal user with a staff role.
func internal(id, role string) access.User {
	return access.User{ID: id, Kind: access.KindInternal, Name: "Staff " + id, Email: id + "@supplier.example",
		Status: access.StatusActive, StaffRole: role, Locale: access.LocaleDefault}
}

// grant returns a subtree read_write grant without limits.
func grant(principal, acct, role string) access.Grant {
	return access.Grant{Principal: principal, Account: acct, Role: role,
		Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
}

func mustPutAccount(t *testing.T, s *instance, a access.Account) int64 {
	t.Helper()
	_, rev, err := s.PutAccount(ctx(t), by, a)
	if err != nil {
		t.Fatalf("PutAccount(%s): %v", a.ID, err)
	}
	return rev
}

func mustPutUser(t *testing.T, s *instance, u access.User) int64 {
	t.Helper()
	_, rev, err := s.PutUser(ctx(t), by, u)
	if err != nil {
		t.Fatalf("PutUser(%s): %v", u.ID, err)
	}
	return rev
}

func mustPutGroup(t *testing.T, s *instance, g access.Group) int64 {
	t.Helper()
	_, rev, err := s.PutGroup(ctx(t), by, g)
	if err != nil {
		t.Fatalf("PutGroup(%s): %v", g.ID, err)
	}
	return rev
}

func mustAddMember(t *testing.T, s *instance, group, user string) int64 {
	t.Helper()
	rev, err := s.AddMember(ctx(t), by, group, user)
	if err != nil {
		t.Fatalf("AddMember(%s, %s): %v", group, user, err)
	}
	return rev
}

func mustCreateGrant(t *testing.T, s *instance, g access.Grant) access.Grant {
	t.Helper()
	out, _, err := s.CreateGrant(ctx(t), by, g)
	if err != nil {
		t.Fatalf("CreateGrant(%s on %s): %v", g.Principal, g.Account, err)
	}
	return out
}

func mustPutRecord(t *testing.T, s *instance, r *access.Record) int64 {
	t.Helper()
	_, rev, err := s.PutRecord(ctx(t), by, r)
	if err != nil {
		t.Fatalf("PutRecord(%s/%s): %v", r.Type, r.ID, err)
	}
	return rev
}

// grantsOn returns every grant on an account, following cursors.
func grantsOn(t *testing.T, s *instance, acct string) []access.Grant {
	t.Helper()
	var out []access.Grant
	f := store.GrantFilter{Account: acct}
	for range 1000 {
		page, next, err := s.ListGrants(ctx(t), f)
		if err != nil {
			t.Fatalf("ListGrants(account %s): %v", acct, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
	t.Fatal("ListGrants: cursor never ends")
	return nil
}

// allowed asks the store's engine whether user may read r, with no parents.
func allowed(s *instance, user string, r *access.Record) bool {
	return s.Engine().Allowed(user, r, readAction, access.RecordMap{})
}

// readAction is the action most checks ask about.
var readAction = policy.Read

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
