package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testConcurrency checks that a store is safe for concurrent use
// (store.go): concurrent writers of every kind get distinct revisions,
// nothing is lost, the engine holds every change, concurrent readers see
// no errors, and the audit hash chain still verifies (one tail).
func testConcurrency(t *testing.T, b Backend) {
	s := open(t, b)
	a := account("A", "")
	a.ExternalAccess = true
	mustPutAccount(t, s, a)
	const workers, each = 8, 15
	var mu sync.Mutex
	revs := map[int64]string{}
	record := func(op string, rev int64) {
		mu.Lock()
		defer mu.Unlock()
		if other, dup := revs[rev]; dup {
			t.Errorf("%s and %s both returned revision %d", op, other, rev)
		}
		revs[rev] = op
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ctx(t)
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				acct := account("acct-"+id, "A")
				acct.ExternalAccess = true // also creates its group and default grant
				_, rev, err := s.PutAccount(c, by, acct)
				if err != nil {
					t.Errorf("PutAccount(%s): %v", id, err)
					return
				}
				record("PutAccount "+id, rev)
				_, rev, err = s.PutUser(c, by, external("user-"+id, "acct-"+id))
				if err != nil {
					t.Errorf("PutUser(%s): %v", id, err)
					return
				}
				record("PutUser "+id, rev)
				_, rev, err = s.CreateGrant(c, by, grant("user:user-"+id, "acct-"+id, "L20"))
				if err != nil {
					t.Errorf("CreateGrant(%s): %v", id, err)
					return
				}
				record("CreateGrant "+id, rev)
				rev, err = s.AddMember(c, by, "acct:A", "user-"+id)
				if err != nil {
					t.Errorf("AddMember(%s): %v", id, err)
					return
				}
				record("AddMember "+id, rev)
				_, rev, err = s.PutRecord(c, by, &access.Record{Type: "sales_order", ID: "so-" + id, Owner: "acct-" + id,
					Date: "2025-01-01", Attributes: map[string]any{"n": float64(i)}})
				if err != nil {
					t.Errorf("PutRecord(%s): %v", id, err)
					return
				}
				record("PutRecord "+id, rev)
				if _, _, err := s.ListRecords(c, store.RecordQuery{Type: "sales_order", Predicate: allOf("sales_order"), Limit: 20}); err != nil {
					t.Errorf("ListRecords while writing: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	newest := int64(0)
	for rev := range revs {
		newest = max(newest, rev)
	}
	if s.Revision() < newest {
		t.Errorf("Revision() = %d after writes up to %d", s.Revision(), newest)
	}
	for w := range workers {
		for i := range each {
			id := fmt.Sprintf("w%d-%d", w, i)
			r := &access.Record{Type: "sales_order", ID: "so-" + id, Owner: "acct-" + id, Date: "2025-01-01"}
			if !allowed(s, "user-"+id, r) {
				t.Errorf("the engine lost the grant of user-%s", id)
			}
		}
	}
	grp, err := s.GetGroup(ctx(t), "acct:A")
	if err != nil || len(grp.Members) != workers*each {
		t.Errorf("acct:A has %d members (err %v), want %d", len(grp.Members), err, workers*each)
	}
	if got := listAll(t, s, store.RecordQuery{Type: "sales_order", Predicate: allOf("sales_order"), Limit: 500}); len(got) != workers*each {
		t.Errorf("%d records listed, want %d", len(got), workers*each)
	}
	v, err := s.VerifyAudit(ctx(t), "")
	if err != nil || !v.OK {
		t.Errorf("VerifyAudit after concurrent writes = %+v, %v; want ok", v, err)
	}
}
