package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testDurability checks that acknowledged writes survive: a second store
// opened on the same database, with the first still open (as after a
// crash, when nothing was closed) or closed, sees every write, and its
// engine, loaded at Open, holds the same model.
func testDurability(t *testing.T, b Backend) {
	// write makes one of every kind of write and returns what should
	// survive.
	write := func(t *testing.T, s *instance) durableState {
		a := account("A", "")
		a.ExternalAccess = true
		mustPutAccount(t, s, a)
		c := account("C", "A")
		c.Inherit, c.ExternalAccess = false, true
		mustPutAccount(t, s, c)
		mustPutAccount(t, s, account("X", ""))
		mustPutAccount(t, s, account("Gone", ""))
		if _, err := s.DeleteAccount(ctx(t), by, "Gone"); err != nil {
			t.Fatal(err)
		}
		mustPutUser(t, s, external("u", "A"))
		mustPutUser(t, s, external("v", "C"))
		mustPutUser(t, s, external("w", "A"))
		mustPutUser(t, s, internal("staff", access.StaffAdmin))
		mustCreateGrant(t, s, grant("user:w", "A", "L20"))
		if _, err := s.SetPassword(ctx(t), by, "u", "hash-u"); err != nil {
			t.Fatal(err)
		}
		mustPutGroup(t, s, access.Group{ID: "team", Name: "Team"})
		mustAddMember(t, s, "team", "v")
		mustAddMember(t, s, "acct:A", "u")
		if _, _, err := s.PutPolicy(ctx(t), by, withExtraRole(t)); err != nil {
			t.Fatal(err)
		}
		mustCreateGrant(t, s, grant("group:team", "C", "L15"))
		g := mustCreateGrant(t, s, grant("user:v", "A", "L20"))
		g.DaysBack, g.ValidUntil = ptr(30), ptr(time.Now().Add(24*time.Hour).UTC().Truncate(time.Second))
		if _, _, err := s.UpdateGrant(ctx(t), by, g); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateToken(ctx(t), by, store.Token{UserID: "staff", Name: "t", Hash: "tok-hash"}); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		if err := s.CreateSession(ctx(t), store.Session{Hash: "sess-hash", UserID: "staff", CreatedAt: now, LastSeen: now}); err != nil {
			t.Fatal(err)
		}
		mustPutRecord(t, s, &access.Record{Type: "sales_order", ID: "SO-1", Owner: "C", Date: "2025-01-02",
			Attributes: map[string]any{"number": "SO-1", "price": 12.5}})
		if _, err := s.Batch(ctx(t), by, store.RecordBatch{Upsert: []*access.Record{
			{Type: "shipment", ID: "SH-1", Parent: &access.Ref{Type: "sales_order", ID: "SO-1"}, Attributes: map[string]any{}},
			{Type: "inventory", ID: "I-1", Owner: "A", Teams: []access.TeamEntry{{Principal: "user:v", Access: access.AccessRead}}, Attributes: map[string]any{}},
			{Type: "inventory", ID: "I-gone", Attributes: map[string]any{}},
		}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteRecord(ctx(t), by, "inventory", "I-gone"); err != nil {
			t.Fatal(err)
		}
		return snap(t, s)
	}
	t.Run("ReopenWithoutClose", func(t *testing.T) {
		s1, dsn := b.open(t, Options{})
		want := write(t, s1)
		s2 := b.reopen(t, dsn, Options{})
		compareSnapshots(t, want, snap(t, s2))
		compareEngines(t, s1, s2)
		wantAuth(t, s2)
		// Both instances write to one audit chain.
		mustPutAccount(t, s2, account("Z2", ""))
		mustPutAccount(t, s1, account("Z1", ""))
		if v, err := s2.VerifyAudit(ctx(t), ""); err != nil || !v.OK {
			t.Errorf("VerifyAudit after writes through both instances = %+v, %v; want ok", v, err)
		}
	})
	t.Run("ReopenAfterClose", func(t *testing.T) {
		s1, dsn := b.open(t, Options{})
		want := write(t, s1)
		if err := s1.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		s2 := b.reopen(t, dsn, Options{})
		compareSnapshots(t, want, snap(t, s2))
		wantAuth(t, s2)
		// The engine loaded at Open decides as before: group grants and
		// the policy they need, chain breaks, days_back and validity.
		today := time.Now().UTC()
		onC := &access.Record{Type: "sales_order", ID: "SO-1", Owner: "C", Date: today.Format(time.DateOnly)}
		onA := &access.Record{Type: "sales_order", ID: "SO-A", Owner: "A", Date: today.Format(time.DateOnly)}
		oldOnA := &access.Record{Type: "sales_order", ID: "SO-A-old", Owner: "A", Date: today.AddDate(0, 0, -60).Format(time.DateOnly)}
		for _, c := range []struct {
			user string
			r    *access.Record
			want bool
			why  string
		}{
			{"v", onC, true, "v is a member of team, which holds L15 on C"},
			{"w", onA, true, "w holds L20 on A"},
			{"w", onC, false, "C breaks the chain below A"},
			{"v", onA, true, "v holds L20 on A, days_back 30"},
			{"v", oldOnA, false, "v's grant on A has days_back 30"},
			{"w", oldOnA, true, "w's grant on A has no days_back"},
		} {
			if got := s2.Engine().Allowed(c.user, c.r, readAction, access.RecordMap{}); got != c.want {
				t.Errorf("after reopen: Allowed(%s, %s) = %v, want %v (%s)", c.user, c.r.ID, got, c.want, c.why)
			}
		}
		// Writes continue after the reopen with greater revisions, and
		// the audit chain continues from its stored tail.
		rev := mustPutAccount(t, s2, account("Y", ""))
		if rev <= want.rev {
			t.Errorf("first write after reopen: revision %d, not after %d", rev, want.rev)
		}
		if v, err := s2.VerifyAudit(ctx(t), ""); err != nil || !v.OK || v.Entries == 0 {
			t.Errorf("VerifyAudit after reopen and a write = %+v, %v; want ok", v, err)
		}
	})
}

// durableState is what the durability test reads back from a store.
type durableState struct {
	accounts []access.Account
	users    []access.User
	groups   []store.GroupWithMembers
	grants   []access.Grant
	records  []*access.Record
	policy   int
	rev      int64
}

// snap reads back everything the durability test wrote.
func snap(t *testing.T, s *instance) (out durableState) {
	t.Helper()
	c := ctx(t)
	for _, id := range []string{"A", "C", "X"} {
		a, err := s.GetAccount(c, id)
		if err != nil {
			t.Errorf("GetAccount(%s): %v", id, err)
		}
		out.accounts = append(out.accounts, a)
	}
	if _, err := s.GetAccount(c, "Gone"); access.ErrorCode(err) != access.CodeNotFound {
		t.Errorf("the deleted account is back: %v", err)
	}
	for _, id := range []string{"u", "v", "w", "staff"} {
		u, err := s.GetUser(c, id)
		if err != nil {
			t.Errorf("GetUser(%s): %v", id, err)
		}
		out.users = append(out.users, u)
	}
	for _, id := range []string{"team", "acct:A"} {
		g, err := s.GetGroup(c, id)
		if err != nil {
			t.Errorf("GetGroup(%s): %v", id, err)
		}
		out.groups = append(out.groups, g)
	}
	for _, acct := range []string{"A", "C"} {
		out.grants = append(out.grants, grantsOn(t, s, acct)...)
	}
	for _, ref := range []access.Ref{{Type: "sales_order", ID: "SO-1"}, {Type: "shipment", ID: "SH-1"}, {Type: "inventory", ID: "I-1"}} {
		r, err := s.GetRecord(c, ref.Type, ref.ID)
		if err != nil {
			t.Errorf("GetRecord(%v): %v", ref, err)
		}
		out.records = append(out.records, r)
	}
	if _, err := s.GetRecord(c, "inventory", "I-gone"); access.ErrorCode(err) != access.CodeNotFound {
		t.Errorf("the deleted record is back: %v", err)
	}
	pv, err := s.Policy(c)
	if err != nil {
		t.Errorf("Policy: %v", err)
	}
	out.policy = pv.Version
	if pv.Policy == nil || pv.Policy.Role("L15") == nil {
		t.Error("the current policy lacks the role added by PutPolicy")
	}
	out.rev = s.Revision()
	return out
}

func compareSnapshots(t *testing.T, want, got durableState) {
	t.Helper()
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b access.Grant) bool { return a.ID < b.ID })}
	for _, d := range []struct {
		name      string
		want, got any
	}{
		{"accounts", want.accounts, got.accounts},
		{"users", want.users, got.users},
		{"groups", want.groups, got.groups},
		{"grants", want.grants, got.grants},
		{"records", want.records, got.records},
		{"policy version", want.policy, got.policy},
	} {
		if diff := cmp.Diff(d.want, d.got, opts); diff != "" {
			t.Errorf("after reopen, %s differ (-before +after):\n%s", d.name, diff)
		}
	}
	if got.rev < want.rev {
		t.Errorf("after reopen: Revision() = %d, behind %d", got.rev, want.rev)
	}
}

// compareEngines checks that two stores' engines hold the same grants for
// every user of the durability test.
func compareEngines(t *testing.T, s1, s2 *instance) {
	t.Helper()
	for _, u := range []string{"u", "v", "w", "staff"} {
		g1, g2 := s1.Engine().UserGrants(u), s2.Engine().UserGrants(u)
		if diff := cmp.Diff(g1, g2, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("engine grants of %s after reopen (-first +second):\n%s", u, diff)
		}
	}
	if s2.Engine().Policy().Role("L15") == nil {
		t.Error("the reopened engine lacks the stored policy")
	}
	for _, id := range []string{"A", "C", "X"} {
		a1, _ := s1.Engine().Account(id)
		a2, ok := s2.Engine().Account(id)
		if !ok || a1 != a2 {
			t.Errorf("engine account %s after reopen: %+v, was %+v", id, a2, a1)
		}
	}
}

// wantAuth checks that the token, session and password hash survived.
func wantAuth(t *testing.T, s *instance) {
	t.Helper()
	if _, err := s.TokenByHash(ctx(t), "tok-hash"); err != nil {
		t.Errorf("token after reopen: %v", err)
	}
	if _, err := s.SessionByHash(ctx(t), "sess-hash"); err != nil {
		t.Errorf("session after reopen: %v", err)
	}
	if h, err := s.PasswordHash(ctx(t), "u"); err != nil || h != "hash-u" {
		t.Errorf("password hash after reopen: %q, %v", h, err)
	}
}
