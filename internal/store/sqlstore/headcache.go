package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-dev/portcullis/internal/access"
)

// The head cache spares a decision (check, check:batch, explain, viewers,
// the parents a list's rows follow) its SQL read of the records it
// decides on: two B-tree seeks and a page copy per record, three quarters
// of a check's server CPU on SQLite (#14). It holds record heads
// (GetRecordHeads' rows: no attributes) by reference and is kept correct
// by invalidation through the change log, not by expiry:
//
//   - a write names the records it writes in change_log (kind record, key
//     "<type>/<id>"; one row of kind records, key "*", for more than
//     changeRecordsMax), and every catch-up drops the named heads (or
//     empties the cache for "*") before it publishes the new revision
//     (applyChanges; a full reload, loadFrom, empties it). That covers
//     this node's writes, whose catch-up runs after their commit and
//     before they return (runTx), and another node's or process's, whose
//     revision this node has not applied yet: once Revision (and with it
//     min_revision) reaches a revision, no head older than its writes is
//     cached;
//   - a revision in the range without any change_log row empties the
//     cache too: it was written by an older binary, which did not name
//     its records, or its rows were pruned (every write names something:
//     its model entities, its records, or norecords);
//   - writes of the access model, tokens, comments and the like drop
//     nothing: heads hold only records. Every statement that writes
//     records or record_teams is in putRow, DeleteRecord, deleteRecords
//     and upsertRecords, which note their records (recordChanged).
//
// Should the catch-up after a write fail, the cache stays as stale as the
// engine, which missed the write too, until the next catch-up. A read that
// misses stores the heads it read only if nothing was dropped since the
// miss (the generation check in put), so a read racing with a write can
// never put the old head back after the write's invalidation.
//
// The cache is bounded by headCacheMax heads; when a read would overflow
// it, it starts again empty. Cached records are shared by every reader
// and never modified.

// headCacheMax bounds the heads cached: about 130 bytes each with their
// strings at medium (the server's peak RSS grew by 19 MiB for the
// 120,000 records that `bench run`'s check workloads draw from and their
// parents), so some 30–60 MiB at the bound.
const headCacheMax = 250_000

// headCache is safe for concurrent use; the zero value is ready.
type headCache struct {
	mu sync.RWMutex
	// gen counts drops and flushes; guarded by mu.
	gen   uint64
	heads map[access.Ref]*access.Record // guarded by mu; nil: empty
	// missing records that do not exist, so a check on a missing record
	// (always denied) is not a database read each time either; guarded by
	// mu, bounded with heads.
	missing map[access.Ref]struct{}
	// hits, misses, drops and flushes count for the metrics (collectors).
	hits, misses, drops, flushes atomic.Uint64
}

// collectors are the cache's Prometheus counters.
func (c *headCache) collectors() []prometheus.Collector {
	counter := func(name, help string, v *atomic.Uint64, labels prometheus.Labels) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
			func() float64 { return float64(v.Load()) })
	}
	const lookups = "portcullis_record_head_cache_lookups_total"
	const help = "Record heads a decision looked up in the head cache, by result."
	return []prometheus.Collector{
		counter(lookups, help, &c.hits, prometheus.Labels{"result": "hit"}),
		counter(lookups, help, &c.misses, prometheus.Labels{"result": "miss"}),
		counter("portcullis_record_head_cache_drops_total", "Record heads dropped from the head cache because a write named their record.", &c.drops, nil),
		counter("portcullis_record_head_cache_flushes_total", "Times the record head cache was emptied: by a reload, or a catch-up over a write of more than 100 records or a revision without change-log rows.", &c.flushes, nil),
	}
}

// get copies the cached heads of refs into out and returns the refs it
// does not know and the generation to hand to put.
func (c *headCache) get(refs []access.Ref, out access.RecordMap) ([]access.Ref, uint64) {
	var miss []access.Ref
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, ref := range refs {
		if r, ok := c.heads[ref]; ok {
			out[ref] = r
			continue
		}
		if _, ok := c.missing[ref]; ok {
			continue
		}
		miss = append(miss, ref)
	}
	c.hits.Add(uint64(len(refs) - len(miss)))
	c.misses.Add(uint64(len(miss)))
	return miss, c.gen
}

// put caches what a read of asked at generation gen found: the heads in
// got, and every ref of asked that got lacks as missing. It does nothing
// when a drop or flush happened since gen.
func (c *headCache) put(gen uint64, asked []access.Ref, got access.RecordMap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.heads)+len(c.missing)+len(asked) > headCacheMax || c.heads == nil {
		c.heads = make(map[access.Ref]*access.Record, len(asked))
		c.missing = map[access.Ref]struct{}{}
	}
	for _, ref := range asked {
		if r, ok := got[ref]; ok {
			c.heads[ref] = r
		} else {
			c.missing[ref] = struct{}{}
		}
	}
}

// drop forgets the heads of refs and makes pending puts no-ops (a read
// that missed before the write that drop stands for may have read the
// old head of any of them).
func (c *headCache) drop(refs []access.Ref) {
	c.drops.Add(uint64(len(refs)))
	c.mu.Lock()
	c.gen++
	for _, ref := range refs {
		delete(c.heads, ref)
		delete(c.missing, ref)
	}
	c.mu.Unlock()
}

// flush forgets every head and makes pending puts no-ops.
func (c *headCache) flush() {
	c.flushes.Add(1)
	c.mu.Lock()
	c.gen++
	c.heads, c.missing = nil, nil
	c.mu.Unlock()
}

// DecisionHeads returns the heads of the records that exist among refs
// and of their ancestors up to hops parents (what a decision reads), keyed
// by reference, from the head cache where it has them and from
// GetRecordHeads otherwise. The records are shared: callers must not
// modify them. They are as fresh as the node's revision (Revision): a
// write on this node is reflected when it returns, another node's once
// this node has caught up with it.
func (s *Store) DecisionHeads(ctx context.Context, refs []access.Ref, hops int) (access.RecordMap, error) {
	out := make(access.RecordMap, len(refs))
	level := refs
	for hop := 0; hop <= hops && len(level) > 0; hop++ {
		miss, gen := s.heads.get(level, out)
		if len(miss) > 0 {
			got, err := s.GetRecordHeads(ctx, miss)
			if err != nil {
				return nil, err
			}
			s.heads.put(gen, miss, got)
			for ref, r := range got {
				out[ref] = r
			}
		}
		// The parents not read yet; a parent of several is looked up once
		// per child, and GetRecordHeads reads it once.
		var next []access.Ref
		for _, ref := range level {
			if r := out[ref]; r != nil && r.Parent != nil {
				if _, ok := out[*r.Parent]; !ok {
					next = append(next, *r.Parent)
				}
			}
		}
		level = next
	}
	return out, nil
}
