package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// denied is the error the suite's failing Checks return.
type denied struct{ what string }

func (d *denied) Error() string { return "denied: " + d.what }

// testWriteCheck checks store.Write.Check (store.go): it runs inside the
// write transaction against the engine caught up to every earlier commit,
// also one made through another store instance on the same database, and
// its error aborts the write with nothing written and is returned
// unchanged. The race subtest is the proof issue 9 asks for: a delegated
// write racing a revoke of the delegate's manage_users grant never
// commits after the revoke.
func testWriteCheck(t *testing.T, b Backend) {
	t.Run("SeesCommittedState", func(t *testing.T) {
		s1, dsn := b.open(t, Options{})
		s2 := b.reopen(t, dsn, Options{})
		mustPutAccount(t, s1, account("A", ""))
		mustPutUser(t, s1, external("u", "A"))
		g := mustCreateGrant(t, s1, grant("user:u", "A", "L20"))
		if _, err := s1.DeleteGrant(ctx(t), by, g.ID); err != nil {
			t.Fatalf("DeleteGrant: %v", err)
		}
		for _, s := range []*instance{s1, s2} {
			calls := 0
			w := store.Write{Actor: actor, Check: func() error {
				calls++
				if _, ok := s.Engine().User("u"); !ok {
					return &denied{"the engine lacks user u, committed before the write"}
				}
				if _, ok := s.Engine().Grant(g.ID); ok {
					return &denied{"the engine still holds grant " + g.ID + ", deleted before the write"}
				}
				return nil
			}}
			if _, _, err := s.PutAccount(ctx(t), w, account(fmt.Sprintf("B%p", s), "")); err != nil {
				t.Fatalf("PutAccount with Check: %v", err)
			}
			if calls != 1 {
				t.Errorf("Check ran %d times, want once", calls)
			}
		}
	})

	t.Run("ErrAborts", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		mustPutUser(t, s, external("u", "A"))
		g := mustCreateGrant(t, s, grant("user:u", "A", "L20"))
		rec := &access.Record{Type: "inventory", ID: "i1", Owner: "A", Attributes: map[string]any{}}
		deny := &denied{"no"}
		w := store.Write{Actor: actor, Check: func() error { return deny }}
		for _, c := range []struct {
			name  string
			write func() error
			// gone reports whether the write left no trace.
			gone func() bool
		}{
			{"PutAccount", func() error { _, _, err := s.PutAccount(ctx(t), w, account("X", "")); return err },
				func() bool { _, err := s.GetAccount(ctx(t), "X"); return access.ErrorCode(err) == access.CodeNotFound }},
			{"PutUser", func() error { _, _, err := s.PutUser(ctx(t), w, external("x", "A")); return err },
				func() bool { _, err := s.GetUser(ctx(t), "x"); return access.ErrorCode(err) == access.CodeNotFound }},
			{"CreateGrant", func() error { _, _, err := s.CreateGrant(ctx(t), w, grant("user:u", "A", "L30")); return err },
				func() bool { return len(grantsOn(t, s, "A")) == 1 }},
			{"DeleteGrant", func() error { _, err := s.DeleteGrant(ctx(t), w, g.ID); return err },
				func() bool {
					_, err := s.GetGrant(ctx(t), g.ID)
					_, ok := s.Engine().Grant(g.ID)
					return err == nil && ok
				}},
			{"PutRecord", func() error { _, _, err := s.PutRecord(ctx(t), w, rec); return err },
				func() bool {
					_, err := s.GetRecord(ctx(t), "inventory", "i1")
					return access.ErrorCode(err) == access.CodeNotFound
				}},
			{"Batch", func() error {
				_, err := s.Batch(ctx(t), w, store.RecordBatch{Upsert: []*access.Record{rec}})
				return err
			}, func() bool {
				_, err := s.GetRecord(ctx(t), "inventory", "i1")
				return access.ErrorCode(err) == access.CodeNotFound
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := s.Revision()
				entries, _, err := s.ListAudit(ctx(t), store.AuditFilter{Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				err = c.write()
				if err != deny { //nolint:errorlint // the very error, unwrapped
					t.Fatalf("got error %v, want the Check's error returned as is", err)
				}
				var d *denied
				if !errors.As(err, &d) {
					t.Fatalf("errors.As(%v, *denied) = false", err)
				}
				if !c.gone() {
					t.Error("the aborted write left a trace")
				}
				if got := s.Revision(); got != before {
					t.Errorf("revision %d after an aborted write, want %d", got, before)
				}
				after, _, err := s.ListAudit(ctx(t), store.AuditFilter{Limit: 1})
				if err != nil {
					t.Fatal(err)
				}
				if len(after) != len(entries) || (len(after) > 0 && after[0].ID != entries[0].ID) {
					t.Errorf("the aborted write was audited: %+v", after)
				}
			})
		}
		// The next write gets the next revision: the aborted ones used none.
		rev := mustPutAccount(t, s, account("Y", ""))
		if rev != s.Revision() {
			t.Errorf("PutAccount returned %d, Revision %d", rev, s.Revision())
		}
	})

	t.Run("RaceWithRevoke", func(t *testing.T) {
		s1, dsn := b.open(t, Options{})
		s2 := b.reopen(t, dsn, Options{})
		nodes := []*instance{s1, s2}
		const rounds, writers, attempts = 8, 4, 12
		for r := range rounds {
			root, admin := fmt.Sprintf("R%d", r), fmt.Sprintf("ca%d", r)
			ra := account(root, "")
			ra.ExternalAccess = true
			mustPutAccount(t, s1, ra)
			mustPutUser(t, s1, external(admin, root))
			for w := range writers {
				for i := range attempts {
					mustPutUser(t, s1, external(fmt.Sprintf("t%d-%d-%d", r, w, i), root))
				}
			}
			own := mustCreateGrant(t, s1, grant("user:"+admin, root, "L80"))
			// Both nodes know the admin's grant before the race starts.
			for _, s := range nodes {
				if err := s.WaitRevision(ctx(t), s1.Revision()); err != nil {
					t.Fatal(err)
				}
			}

			var (
				mu        sync.Mutex
				created   []int64 // revisions of the admin's committed grants
				revokeRev int64
			)
			first := make(chan struct{})
			var once sync.Once
			var wg, wgw sync.WaitGroup
			for w := range writers {
				s := nodes[w%len(nodes)]
				wgw.Add(1)
				go func() {
					defer wgw.Done()
					for i := range attempts {
						g := grant(fmt.Sprintf("user:t%d-%d-%d", r, w, i), root, "L20")
						check := func() error { return s.Engine().CheckGrant(admin, nil, &g) }
						_, rev, err := s.CreateGrant(ctx(t), store.Write{Actor: admin, Check: check}, g)
						if err != nil {
							if access.ErrorCode(err) != access.CodeForbidden {
								t.Errorf("CreateGrant by %s: %v, want success or forbidden", admin, err)
							}
							return // the revoke landed
						}
						mu.Lock()
						created = append(created, rev)
						mu.Unlock()
						once.Do(func() { close(first) })
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-first // revoke mid-stream
				rev, err := s1.DeleteGrant(ctx(t), by, own.ID)
				if err != nil {
					t.Errorf("DeleteGrant: %v", err)
				}
				mu.Lock()
				revokeRev = rev
				mu.Unlock()
			}()
			wgw.Wait()
			once.Do(func() { close(first) }) // no writer succeeded: revoke anyway
			wg.Wait()
			if t.Failed() {
				return
			}
			for _, rev := range created {
				if rev > revokeRev {
					t.Errorf("round %d: a grant by %s committed at revision %d, after the revoke at %d", r, admin, rev, revokeRev)
				}
			}
			var byAdmin int
			for _, g := range grantsOn(t, s1, root) {
				if g.CreatedBy == admin {
					byAdmin++
				}
			}
			if byAdmin != len(created) {
				t.Errorf("round %d: %d grants created by %s stored, %d acknowledged", r, byAdmin, admin, len(created))
			}
		}
	})
}
