package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The team principals are the principals ("account:<id>", "user:<id>")
// that have at least one team entry in record_teams. A list's team branch
// seeks record_teams once per principal of the user (one per account the
// user reaches, and the user), and most principals have no entry: the
// multi-customer user of `bench` seeks 267 principals, of which 130 have
// entries. With the set known, the branch seeks only those, and a user
// none of whose principals has an entry gets no team branch at all (no
// union), which is the common case where team entries are rare (#14).
//
// The set may hold principals whose entries are gone (it only grows
// between loads): that costs a seek, never a row. It must never miss one
// that this node should see, and it is kept so by the change log, as the
// head cache is (headcache.go):
//
//   - every catch-up, after its commit for this node's writes and before
//     the revision is published, adds the principals of the records it
//     names (kind record), read in the catch-up's own snapshot, and
//     forgets the set (unknown: lists seek every principal, as without
//     it) for a write of more than changeRecordsMax records, a revision
//     without change_log rows, or a full reload;
//   - an unknown set is loaded again in the background by the first list
//     that finds it unknown (at most once per teamPrincipalsRetry), with
//     one DISTINCT read of record_teams; a load is dropped if the set was
//     forgotten since it started (the generation check), and it keeps
//     the principals that catch-ups added while it ran, so a write that
//     committed after the load's snapshot cannot be lost (and a steady
//     stream of small writes does not keep the set unknown).
//
// So once a node reports a revision, the set holds every principal with an
// entry written up to it; another node's entry is sought once this node
// has caught up with it, as its grants are applied (min_revision waits for
// both).
type teamPrincipals struct {
	mu sync.Mutex
	// set is nil while unknown; guarded by mu.
	set map[string]struct{}
	// gen counts the times the set was forgotten; a load started at
	// another generation is dropped. pending are the principals added
	// while a load runs, which its snapshot may predate: the load keeps
	// them. Guarded by mu.
	gen     uint64
	pending []string
	// loading is set while a load runs; last is when the last one
	// started. Guarded by mu.
	loading bool
	last    time.Time
	// load reads the set; ctx ends with the store, wg waits for a load.
	load   func(ctx context.Context) (map[string]struct{}, error)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// teamPrincipalsRetry is how often an unknown set is loaded at most (a
// bulk write makes it unknown again, each chunk of an import).
const teamPrincipalsRetry = time.Second

func (tp *teamPrincipals) start(load func(ctx context.Context) (map[string]struct{}, error)) {
	tp.load = load
	tp.ctx, tp.cancel = context.WithCancel(context.Background())
}

// stop cancels a load under way and waits for it; no load starts after
// it (startLoad checks the context under mu).
func (tp *teamPrincipals) stop() {
	tp.mu.Lock()
	if tp.cancel != nil {
		tp.cancel()
	}
	tp.mu.Unlock()
	tp.wg.Wait()
}

// filter returns the principals of ps that have team entries (all of ps
// while the set is unknown, starting a load). It does not modify ps.
func (tp *teamPrincipals) filter(ps []string) []string {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.set == nil {
		tp.startLoad()
		return ps
	}
	var out []string
	for i, p := range ps {
		if _, ok := tp.set[p]; ok {
			if out != nil {
				out = append(out, p)
			}
			continue
		}
		if out == nil {
			out = append(make([]string, 0, len(ps)-1), ps[:i]...)
		}
	}
	if out == nil {
		return ps
	}
	return out
}

// startLoad starts a load unless one runs or one started within
// teamPrincipalsRetry; tp.mu is held.
func (tp *teamPrincipals) startLoad() {
	if tp.loading || tp.load == nil || time.Since(tp.last) < teamPrincipalsRetry || tp.ctx.Err() != nil {
		return
	}
	tp.loading, tp.last, tp.pending = true, time.Now(), nil
	gen := tp.gen
	tp.wg.Add(1)
	go func() {
		defer tp.wg.Done()
		set, err := tp.load(tp.ctx)
		tp.mu.Lock()
		defer tp.mu.Unlock()
		tp.loading = false
		if err == nil && tp.gen == gen {
			for _, p := range tp.pending {
				set[p] = struct{}{}
			}
			tp.set = set
		}
		tp.pending = nil
	}()
}

// wants reports whether additions matter now: the set is known or a
// load runs (a load that starts later reads them itself).
func (tp *teamPrincipals) wants() bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.set != nil || tp.loading
}

// add notes principals that have entries now. While the set is unknown
// they are kept for a load under way (a load that starts later reads
// them itself).
func (tp *teamPrincipals) add(ps []string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	switch {
	case tp.set != nil:
		for _, p := range ps {
			tp.set[p] = struct{}{}
		}
	case tp.loading:
		tp.pending = append(tp.pending, ps...)
	}
}

// forget makes the set unknown and drops a load under way.
func (tp *teamPrincipals) forget() {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.gen++
	tp.set, tp.pending = nil, nil
}

// loadTeamPrincipals reads every principal that has a team entry.
func (s *Store) loadTeamPrincipals(ctx context.Context) (map[string]struct{}, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT DISTINCT principal FROM record_teams`)
	if err != nil {
		return nil, fmt.Errorf("team principals: %w", err)
	}
	defer rows.Close()
	set := map[string]struct{}{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("team principals: %w", err)
		}
		set[p] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("team principals: %w", err)
	}
	return set, nil
}

// noteTeamPrincipals is catch-up's part for the team principals: it adds
// the principals of the records cs names, read in r's snapshot, or forgets
// the set when cs names more than it lists or unnamed (as
// invalidateHeads), or when the read fails.
func (s *Store) noteTeamPrincipals(r reader, cs changeSet, unnamed bool) {
	if unnamed || len(cs[changeAllRecords]) > 0 {
		s.teams.forget()
		return
	}
	if len(cs[changeRecord]) == 0 || !s.teams.wants() {
		return
	}
	byType := map[string][]any{}
	for key := range cs[changeRecord] {
		ref := recordChangeRef(key)
		byType[ref.Type] = append(byType[ref.Type], ref.ID)
	}
	var ps []string
	for typ, ids := range byType {
		got, err := r.strings(`SELECT DISTINCT t.principal FROM records x JOIN record_teams t ON t.record_pk = x.pk `+
			`WHERE x.type = ? AND x.id IN (`+placeholders(len(ids))+`)`, append([]any{typ}, ids...)...)
		if err != nil {
			s.log.Warn("sqlstore: team principals of changed records", "err", err)
			s.teams.forget()
			return
		}
		ps = append(ps, got...)
	}
	s.teams.add(ps)
}
