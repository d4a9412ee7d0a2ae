package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// mustOpenKeyed opens dsn with an audit key (nil for none), without a
// follower: these tests write only audit entries and accounts.
func mustOpenKeyed(t *testing.T, dsn string, key []byte) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{AuditKey: key})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustLog(t *testing.T, s *Store, n int) {
	t.Helper()
	for range n {
		if err := s.Log(context.Background(), store.AuditEntry{Actor: "user:u1", Action: "session.login", Target: "user:u1"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAudit_ExpectHeadDetectsTruncation(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := mustOpenKeyed(t, dsn, nil)
		mustLog(t, s, 5)
		head, err := s.AuditHead(ctx)
		if err != nil || head.Entries != 5 || head.Head == "" {
			t.Fatalf("AuditHead = %+v, %v; want 5 entries", head, err)
		}
		mustLog(t, s, 2) // the chain grows after the anchor
		if v, err := s.VerifyAudit(ctx, head.Head); err != nil || !v.OK || v.Entries != 7 {
			t.Fatalf("VerifyAudit(anchor) after growth = %+v, %v; want ok", v, err)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM audit WHERE id >= 5`); err != nil {
			t.Fatal(err)
		}
		if v, err := s.VerifyAudit(ctx, ""); err != nil || !v.OK {
			t.Fatalf("without an anchor a truncated chain verifies: %+v, %v (the gap this closes)", v, err)
		}
		v, err := s.VerifyAudit(ctx, head.Head)
		if err != nil || v.OK || !strings.Contains(v.Problem, "expected head") {
			t.Fatalf("VerifyAudit(anchor) after deleting the tail = %+v, %v; want not ok", v, err)
		}
		if _, err := s.db.ExecContext(ctx, `DELETE FROM audit`); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.VerifyAudit(ctx, head.Head); v.OK {
			t.Fatalf("VerifyAudit(anchor) of an emptied log = %+v; want not ok", v)
		}
	})
}

func TestAudit_KeyedChain(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		key := []byte("0123456789abcdef0123456789abcdef")
		plain := mustOpenKeyed(t, dsn, nil)
		mustLog(t, plain, 2) // before the key: SHA-256
		plain.Close()
		s := mustOpenKeyed(t, dsn, key)
		mustLog(t, s, 3)
		v, err := s.VerifyAudit(ctx, "")
		if err != nil || !v.OK || v.Entries != 5 || v.Keyed != 3 {
			t.Fatalf("VerifyAudit with the key = %+v, %v; want ok, 5 entries, 3 keyed", v, err)
		}
		es, _, _ := s.ListAudit(ctx, store.AuditFilter{})
		if !es[0].Keyed || es[len(es)-1].Keyed {
			t.Errorf("keyed flags newest %v oldest %v; want true, false", es[0].Keyed, es[len(es)-1].Keyed)
		}
		// Without the key the keyed entries cannot be checked, and a
		// store without it refuses to write after them.
		nokey := mustOpenKeyed(t, dsn, nil)
		if v, _ := nokey.VerifyAudit(ctx, ""); v.OK || v.FirstBad != 3 {
			t.Errorf("VerifyAudit without the key = %+v; want first_bad 3", v)
		}
		if err := nokey.Log(ctx, store.AuditEntry{Actor: "user:x", Action: "session.login", Target: "user:x"}); err == nil {
			t.Error("a store without the key appended to a keyed chain")
		}
		// Someone who can write the database rewrites entry 4 and
		// recomputes the chain from there with SHA-256 and with a key of
		// their own: neither verifies under the real key.
		for _, forged := range [][]byte{nil, []byte("not the key, not the key, not it")} {
			if err := rewriteFrom(ctx, s, 4, forged); err != nil {
				t.Fatal(err)
			}
			v, err := s.VerifyAudit(ctx, "")
			if err != nil || v.OK || v.FirstBad != 4 {
				t.Errorf("forged with key %q: VerifyAudit = %+v, %v; want first_bad 4", forged, v, err)
			}
		}
		// The same rewrite with the real key verifies: the key is the
		// secret the chain rests on.
		if err := rewriteFrom(ctx, s, 4, key); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.VerifyAudit(ctx, ""); !v.OK {
			t.Errorf("recomputed with the real key: %+v; want ok", v)
		}
	})
}

// rewriteFrom changes the actor of entry id and recomputes the hashes from
// it to the tail, keyed with key (plain SHA-256 for nil), as an attacker
// with write access to the database would.
func rewriteFrom(ctx context.Context, s *Store, id int64, key []byte) error {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, at, actor, action, target, before_json, after_json, hash, keyed, prev_hash FROM audit WHERE id >= ? ORDER BY id`), id-1)
	if err != nil {
		return err
	}
	var es []store.AuditEntry
	prevs := map[int64]string{}
	for rows.Next() {
		e, prev, err := scanAudit(rows, true)
		if err != nil {
			rows.Close()
			return err
		}
		es = append(es, e)
		prevs[e.ID] = prev
	}
	rows.Close()
	prev := es[0].Hash
	for _, e := range es[1:] {
		if e.ID == id {
			e.Actor = "user:mallory"
		}
		e.Keyed = key != nil
		e.Hash = auditHash(prev, e, key)
		keyed := 0
		if e.Keyed {
			keyed = 1
		}
		if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE audit SET actor = ?, hash = ?, prev_hash = ?, keyed = ? WHERE id = ?`),
			e.Actor, e.Hash, prev, keyed, e.ID); err != nil {
			return err
		}
		prev = e.Hash
	}
	return nil
}
