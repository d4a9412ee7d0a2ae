package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testRevisions checks the global revision (DESIGN.md §2 Consistency, §5.11):
// every write returns a strictly greater revision, Revision catches up, and
// WaitRevision returns at once for an applied revision and with
// CodeUnavailable when its context ends first.
func testRevisions(t *testing.T, b Backend) {
	t.Run("Monotonic", func(t *testing.T) {
		s := open(t, b)
		last := s.Revision()
		check := func(t *testing.T, op string, rev int64, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", op, err)
			}
			if rev <= last {
				t.Errorf("%s returned revision %d, not after %d", op, rev, last)
			}
			if got := s.Revision(); got < rev {
				t.Errorf("after %s: Revision() = %d, behind the returned %d", op, got, rev)
			}
			last = rev
		}
		c := ctx(t)
		a := account("A", "")
		a.ExternalAccess = true
		_, rev, err := s.PutAccount(c, by, a)
		check(t, "PutAccount", rev, err)
		_, rev, err = s.PutAccount(c, by, account("B", "A"))
		check(t, "PutAccount", rev, err)
		_, rev, err = s.PutUser(c, by, external("u", "A"))
		check(t, "PutUser", rev, err)
		_, rev, err = s.PutUser(c, by, internal("staff", access.StaffAdmin))
		check(t, "PutUser", rev, err)
		rev, err = s.SetPassword(c, by, "u", "hash")
		check(t, "SetPassword", rev, err)
		_, rev, err = s.PutGroup(c, by, access.Group{ID: "g", Name: "G"})
		check(t, "PutGroup", rev, err)
		rev, err = s.AddMember(c, by, "g", "u")
		check(t, "AddMember", rev, err)
		g, rev, err := s.CreateGrant(c, by, grant("user:u", "B", "L20"))
		check(t, "CreateGrant", rev, err)
		g.Notes = "changed"
		_, rev, err = s.UpdateGrant(c, by, g)
		check(t, "UpdateGrant", rev, err)
		_, rev, err = s.PutPolicy(c, by, withExtraRole(t))
		check(t, "PutPolicy", rev, err)
		_, rev, err = s.PutRecord(c, by, &access.Record{Type: "inventory", ID: "i1", Owner: "B", Attributes: map[string]any{}})
		check(t, "PutRecord", rev, err)
		br, err := s.Batch(c, by, store.RecordBatch{Upsert: []*access.Record{
			{Type: "inventory", ID: "i2", Owner: "B", Attributes: map[string]any{}},
			{Type: "inventory", ID: "i3", Owner: "B", Attributes: map[string]any{}},
		}})
		check(t, "Batch", br.Revision, err)
		rev, err = s.DeleteRecord(c, by, "inventory", "i1")
		check(t, "DeleteRecord", rev, err)
		tok, rev, err := s.CreateToken(c, by, store.Token{UserID: "staff", Name: "t", Hash: "th"})
		check(t, "CreateToken", rev, err)
		rev, err = s.DeleteToken(c, by, tok.ID)
		check(t, "DeleteToken", rev, err)
		rev, err = s.RemoveMember(c, by, "g", "u")
		check(t, "RemoveMember", rev, err)
		rev, err = s.DeleteGrant(c, by, g.ID)
		check(t, "DeleteGrant", rev, err)
		rev, err = s.DeleteGroup(c, by, "g")
		check(t, "DeleteGroup", rev, err)
		rev, err = s.DeleteUser(c, by, "u")
		check(t, "DeleteUser", rev, err)
		br, err = s.Batch(c, by, store.RecordBatch{Delete: []access.Ref{{Type: "inventory", ID: "i2"}, {Type: "inventory", ID: "i3"}}})
		check(t, "Batch delete", br.Revision, err)
		rev, err = s.DeleteAccount(c, by, "B")
		check(t, "DeleteAccount", rev, err)
	})

	t.Run("RecordRevision", func(t *testing.T) {
		s := open(t, b)
		rev := mustPutRecord(t, s, &access.Record{Type: "inventory", ID: "i1", Attributes: map[string]any{}})
		got, err := s.GetRecord(ctx(t), "inventory", "i1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Revision != rev {
			t.Errorf("record revision %d, want the write's %d", got.Revision, rev)
		}
	})

	t.Run("Wait", func(t *testing.T) {
		s := open(t, b)
		rev := mustPutAccount(t, s, account("A", ""))
		t.Run("Applied", func(t *testing.T) {
			for _, r := range []int64{0, rev - 1, rev, s.Revision()} {
				c, cancel := context.WithTimeout(ctx(t), 2*time.Second)
				start := time.Now()
				err := s.WaitRevision(c, r)
				cancel()
				if err != nil {
					t.Errorf("WaitRevision(%d) with Revision() %d: %v", r, s.Revision(), err)
				}
				if d := time.Since(start); d > time.Second {
					t.Errorf("WaitRevision(%d) of an applied revision took %v", r, d)
				}
			}
		})
		t.Run("ErrFuture", func(t *testing.T) {
			c, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := s.WaitRevision(c, s.Revision()+1000)
			wantCode(t, err, access.CodeUnavailable)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("WaitRevision outlived its context by far: %v", d)
			}
		})
		t.Run("Concurrent", func(t *testing.T) {
			// A waiter for the next revision returns once a write
			// reaches it.
			want := s.Revision() + 1
			done := make(chan error, 1)
			go func() {
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				done <- s.WaitRevision(c, want)
			}()
			time.Sleep(50 * time.Millisecond)
			mustPutAccount(t, s, account("B", ""))
			if err := <-done; err != nil {
				t.Errorf("WaitRevision(%d) after a write: %v", want, err)
			}
		})
	})

	t.Run("OtherInstance", func(t *testing.T) {
		// A second instance on the same database (a restarted process, or
		// another node) catches up with writes made through the first when
		// asked to wait for their revision.
		s1, dsn := b.open(t, Options{})
		s2 := b.reopen(t, dsn, Options{})
		a := account("A", "")
		a.ExternalAccess = true
		mustPutAccount(t, s1, a)
		mustPutUser(t, s1, external("u", "A"))
		g := mustCreateGrant(t, s1, grant("user:u", "A", "L10"))
		rev := s1.Revision()
		c, cancel := context.WithTimeout(ctx(t), 5*time.Second)
		defer cancel()
		if err := s2.WaitRevision(c, rev); err != nil {
			t.Fatalf("second instance: WaitRevision(%d): %v (its Revision() is %d)", rev, err, s2.Revision())
		}
		if s2.Revision() < rev {
			t.Errorf("second instance: Revision() = %d after waiting for %d", s2.Revision(), rev)
		}
		if _, err := s2.GetGrant(ctx(t), g.ID); err != nil {
			t.Errorf("second instance: GetGrant: %v", err)
		}
		if !b.MultiNode {
			return
		}
		// On a multi-node backend the second instance's engine follows.
		r := &access.Record{Type: "inventory", ID: "i1", Owner: "A"}
		if !allowed(s2, "u", r) {
			t.Error("second instance: the engine does not know the grant made through the first")
		}
		if _, err := s1.DeleteGrant(ctx(t), by, g.ID); err != nil {
			t.Fatal(err)
		}
		if err := s2.WaitRevision(c, s1.Revision()); err != nil {
			t.Fatalf("second instance: WaitRevision: %v", err)
		}
		if allowed(s2, "u", r) {
			t.Error("second instance: the engine still has the grant deleted through the first")
		}
		// Tree, switch and policy changes follow too.
		mustPutAccount(t, s1, account("A", "")) // switch off
		if _, _, err := s1.PutPolicy(ctx(t), by, withExtraRole(t)); err != nil {
			t.Fatal(err)
		}
		if err := s2.WaitRevision(c, s1.Revision()); err != nil {
			t.Fatalf("second instance: WaitRevision: %v", err)
		}
		if a, _ := s2.Engine().Account("A"); a.ExternalAccess {
			t.Error("second instance: the engine still has A's switch on")
		}
		if s2.Engine().Policy().Role("L15") == nil {
			t.Error("second instance: the engine lacks the policy stored through the first")
		}
		mustPutAccount(t, s1, a) // switch on again
		// And without being asked, within a second or so (DESIGN.md §4).
		mustCreateGrant(t, s1, grant("user:u", "A", "L10"))
		deadline := time.Now().Add(3 * time.Second)
		for !allowed(s2, "u", r) {
			if time.Now().After(deadline) {
				t.Error("second instance: a change through the first did not arrive within 3s without a wait")
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
