package sqlstore

import (
	"fmt"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// TestHeadCache checks the head cache's rules: a read that missed before
// a flush caches nothing (it may have read the state before the write the
// flush stands for), missing records are remembered as missing, and the
// cache never holds more than headCacheMax entries.
func TestHeadCache(t *testing.T) {
	var c headCache
	a, b := access.Ref{Type: "t", ID: "a"}, access.Ref{Type: "t", ID: "b"}
	ra := &access.Record{Type: "t", ID: "a", Owner: "old"}
	lookup := func() (access.RecordMap, []access.Ref, uint64) {
		out := access.RecordMap{}
		miss, gen := c.get([]access.Ref{a, b}, out)
		return out, miss, gen
	}
	_, miss, gen := lookup()
	if len(miss) != 2 {
		t.Fatalf("empty cache: misses %v, want both", miss)
	}
	c.flush() // a write commits between the read and its put
	c.put(gen, miss, access.RecordMap{a: ra})
	if _, miss, _ := lookup(); len(miss) != 2 {
		t.Errorf("a put older than a flush was kept: misses %v", miss)
	}
	_, miss, gen = lookup()
	c.put(gen, miss, access.RecordMap{a: ra})
	out, miss, _ := lookup()
	if len(miss) != 0 || out[a] != ra || out[b] != nil {
		t.Errorf("after a put: %v, misses %v; want a cached and b known missing", out, miss)
	}
	c.flush()
	if _, miss, _ := lookup(); len(miss) != 2 {
		t.Errorf("after a flush: misses %v, want both", miss)
	}

	refs := make([]access.Ref, 1000)
	for round := range headCacheMax/len(refs) + 3 {
		for i := range refs {
			refs[i] = access.Ref{Type: "t", ID: fmt.Sprintf("%d-%d", round, i)}
		}
		_, gen := c.get(refs, access.RecordMap{})
		c.put(gen, refs, access.RecordMap{})
		if n := len(c.heads) + len(c.missing); n > headCacheMax || n < len(refs) {
			t.Fatalf("round %d: %d entries (bound %d)", round, n, headCacheMax)
		}
	}
}
