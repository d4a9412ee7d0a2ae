package storetest

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testNumbers: CreateNumberedRecord (records.md §1) hands out each type's
// numbers in order from 10001, skips ids a record already has, keeps the
// sequences of types apart, never gives one number twice under concurrent
// creates, and leaves no record (and no number in the id) when its Check
// refuses.
func testNumbers(t *testing.T, b Backend) {
	numbered := func(typ string) *access.Record {
		return &access.Record{Type: typ, ID: "placeholder", Owner: "A", Attributes: map[string]any{"title": "t"}}
	}
	tk := store.Numbering{Prefix: "TK-", Field: "number"}
	t.Run("Sequence", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-10002", Attributes: map[string]any{}})
		var got []string
		for _, typ := range []string{"ticket", "ticket", "sales_order", "ticket"} {
			r := numbered(typ)
			n := tk
			if typ == "sales_order" {
				n = store.Numbering{Prefix: "WEB-", Field: "number"}
			}
			if _, err := s.CreateNumberedRecord(ctx(t), by, r, n); err != nil {
				t.Fatalf("CreateNumberedRecord: %v", err)
			}
			stored, err := s.GetRecord(ctx(t), r.Type, r.ID)
			if err != nil || stored.Attributes["number"] != r.ID || stored.Attributes["title"] != "t" {
				t.Fatalf("stored %s: %+v %v", r.ID, stored, err)
			}
			got = append(got, r.ID)
		}
		if want := "TK-10001 TK-10003 WEB-10001 TK-10004"; fmt.Sprint(got) != "["+want+"]" {
			t.Fatalf("numbers %v, want %s", got, want)
		}
	})
	t.Run("CheckRefuses", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		refused := errors.New("refused")
		r := numbered("ticket")
		if _, err := s.CreateNumberedRecord(ctx(t), store.Write{Actor: actor, Check: func() error { return refused }}, r, tk); !errors.Is(err, refused) {
			t.Fatalf("CreateNumberedRecord with a refusing check: %v", err)
		}
		if _, err := s.GetRecord(ctx(t), "ticket", "TK-10001"); access.ErrorCode(err) != access.CodeNotFound {
			t.Fatalf("a refused create stored TK-10001: %v", err)
		}
		r = numbered("ticket")
		if _, err := s.CreateNumberedRecord(ctx(t), by, r, tk); err != nil || r.ID != "TK-10001" {
			t.Fatalf("after a refused create: %s %v, want TK-10001", r.ID, err)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		s := open(t, b)
		mustPutAccount(t, s, account("A", ""))
		const n = 20
		ids := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := numbered("ticket")
				if _, err := s.CreateNumberedRecord(ctx(t), by, r, tk); err != nil {
					t.Errorf("CreateNumberedRecord: %v", err)
				}
				ids[i] = r.ID
			}()
		}
		wg.Wait()
		sort.Strings(ids)
		for i, id := range ids {
			if want := fmt.Sprintf("TK-%d", 10001+i); id != want {
				t.Fatalf("numbers %v: want %s at %d", ids, want, i)
			}
		}
	})
}
