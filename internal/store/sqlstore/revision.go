package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Change log kinds beyond the access model's (account, user, group,
// member, grant, policy): revocations that catch-up applies to the
// authentication cache (authcache.go), so that a token or session revoked
// on one node is refused by the others once they catch up. A user change
// also drops the user's cached tokens and sessions (deleting or disabling a
// user ends them).
const (
	changeToken    = "token"    // key: token id; the token was revoked
	changeSession  = "session"  // key: session hash; the session ended
	changeSessions = "sessions" // key: user id; every session of the user ended
	// Record writes, for the head cache (headcache.go).
	changeRecord     = "record"    // key: "<type>/<id>"; the record was written or deleted
	changeAllRecords = "records"   // key: "*"; more records than changeRecordsMax
	changeNoRecords  = "norecords" // key: ""; a revision that names nothing else wrote no records
)

// recordChangeKey is the change_log key of a record (kind record) and
// recordChangeRef its inverse; ids have no "/" (access.ValidID).
func recordChangeKey(ref access.Ref) string { return ref.Type + "/" + ref.ID }

func recordChangeRef(key string) access.Ref {
	i := strings.LastIndexByte(key, '/')
	return access.Ref{Type: key[:max(i, 0)], ID: key[i+1:]}
}

// reloadThreshold is the number of changed keys above which catch-up
// reloads the whole model instead of applying the changes one by one.
const reloadThreshold = 2000

// Revision returns the newest revision the store's follower and caches
// reflect.
func (s *Store) Revision() int64 { return s.applied.Load() }

// WaitRevision returns once the follower reflects at least rev. It polls the
// change log every 20 ms (not only notifications, which may be lost), and
// returns a CodeUnavailable error when ctx ends first; callers bound the
// wait with ctx (the server waits at most 5 s, DESIGN §5.11).
func (s *Store) WaitRevision(ctx context.Context, rev int64) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.applied.Load() >= rev {
			return nil
		}
		if err := s.catchUp(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sqlstore: catch up", "err", err)
		}
		if s.applied.Load() >= rev {
			return nil
		}
		select {
		case <-ctx.Done():
			return access.Errorf(access.CodeUnavailable, "revision %d is not available yet (at %d)", rev, s.applied.Load())
		case <-tick.C:
		}
	}
}

// readTx begins a read-only transaction on the read pool that sees one
// consistent snapshot (REPEATABLE READ on PostgreSQL; a WAL read
// transaction on SQLite).
func (s *Store) readTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.rdb.BeginTx(ctx, s.dialect.readTxOptions())
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	return tx, nil
}

// Attach makes f the store's follower and loads it with the whole model;
// see store.ChangeStore.
func (s *Store) Attach(ctx context.Context, f store.Follower) error {
	if f == nil {
		return errors.New("sqlstore: attach: nil follower")
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.follower != nil {
		return errors.New("sqlstore: attach: the store already has a follower")
	}
	s.follower = f
	if err := s.reloadLocked(ctx); err != nil {
		s.follower = nil
		return err
	}
	return nil
}

// Detach forgets the follower; writes no longer apply to it.
func (s *Store) Detach() {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	s.follower = nil
}

// CatchUp applies every committed revision not yet applied to the
// follower and the store's caches.
func (s *Store) CatchUp(ctx context.Context) error {
	from := s.applied.Load()
	if err := s.catchUp(ctx); err != nil {
		return err
	}
	if s.applied.Load() > from {
		s.kickIndexer() // another node's write may have added a search backlog
	}
	return nil
}

// WaitForChange blocks until another node may have committed (a
// PostgreSQL notification; on SQLite a new revision, looked for whenever
// the data_version read every sqliteWatchInterval changed) or ctx ends.
func (s *Store) WaitForChange(ctx context.Context) error { return s.dialect.waitForChange(ctx) }

// reload replaces the follower's and the caches' whole state with the
// database's.
func (s *Store) reload(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.reloadLocked(ctx)
}

// reloadLocked loads the policy and the model from one read snapshot.
// s.applyMu must be held.
func (s *Store) reloadLocked(ctx context.Context) error {
	tx, err := s.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	r := reader{s: s, q: tx, ctx: ctx}
	var rev int64
	if err := r.queryRow(`SELECT rev FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		return fmt.Errorf("load: revision: %w", err)
	}
	return s.loadFrom(r, rev)
}

// loadFrom loads the state of r, which is at revision rev, into the
// follower and the caches. s.applyMu must be held.
func (s *Store) loadFrom(r reader, rev int64) error {
	pv, err := r.policy()
	if err != nil {
		return err
	}
	snap := store.Snapshot{Revision: rev, Policy: pv.Policy}
	if s.follower != nil {
		m := &snap.Model
		if m.Accounts, err = r.accounts(); err != nil {
			return err
		}
		if m.Users, err = r.users(); err != nil {
			return err
		}
		if m.Groups, err = r.groups(); err != nil {
			return err
		}
		if m.Members, err = r.members(); err != nil {
			return err
		}
		if m.Grants, err = r.grants(); err != nil {
			return err
		}
		if err := s.follower.Load(snap); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	s.setPolicy(pv.Policy)
	// A reload skips the change log, and with it any revocation: forget
	// every cached token and session.
	s.auth.purge()
	s.heads.flush() // records may have changed too (headcache.go)
	s.teams.forget()
	s.applied.Store(rev)
	return nil
}

// catchUp applies every change_log row newer than the applied revision to
// the follower, re-reading the current row of each changed key from one
// read snapshot, then advances the applied revision to the snapshot's
// revision. It is what a write runs after commit and what CatchUp and
// WaitRevision run. It falls back to a full reload when the changes are
// many or do not apply cleanly.
func (s *Store) catchUp(ctx context.Context) error {
	rev, err := s.currentRevision(ctx)
	if err != nil {
		return err
	}
	if rev <= s.applied.Load() {
		return nil
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	from := s.applied.Load()
	if rev <= from {
		return nil // another caller caught up meanwhile
	}
	tx, err := s.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// A catch-up reads one row per changed entity with the same few
	// statements: txStmts prepares each the second time it runs (a bulk
	// write's catch-up parsed the same SQL for every entity).
	r := reader{s: s, q: &txStmts{tx: tx}, ctx: ctx}
	if err := r.queryRow(`SELECT rev FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		return fmt.Errorf("catch up: revision: %w", err)
	}
	return s.applyRange(r, from, rev)
}

// catchUpTx brings the follower to revision to, reading through the write
// transaction t, which holds the writer lock: every revision up to to is
// committed and no other can commit meanwhile. It takes applyMu after the
// writer lock, the order of the package comment.
func (s *Store) catchUpTx(t *wtx, to int64) error {
	if s.applied.Load() >= to {
		return nil
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	from := s.applied.Load()
	if from >= to {
		return nil
	}
	return s.applyRange(t.reader(), from, to)
}

// applyRange applies the changes of revisions (from, to] as r sees them,
// falling back to a full load from r. s.applyMu must be held.
func (s *Store) applyRange(r reader, from, to int64) error {
	err := s.applyChanges(r, from, to)
	if err == nil {
		return nil
	}
	if r.ctx.Err() != nil {
		return err
	}
	if !errors.Is(err, errTooMany) {
		s.log.Warn("sqlstore: incremental catch-up failed, reloading", "from", from, "err", err)
	}
	return s.loadFrom(r, to)
}

// changeSet is the keys a range of the change log names, by kind.
type changeSet map[string]map[string]bool

func (c changeSet) keys(kind string) []string {
	var out []string
	for k := range c[kind] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// errTooMany makes applyChanges fall back to a reload.
var errTooMany = errors.New("too many changes")

// applyChanges is catchUp's incremental path; s.applyMu must be held.
func (s *Store) applyChanges(r reader, from, to int64) error {
	// The primary key (revision, kind, key) serves this range scan.
	rows, err := r.query(`SELECT revision, kind, key FROM change_log WHERE revision > ? AND revision <= ?`, from, to)
	if err != nil {
		return fmt.Errorf("catch up: change log: %w", err)
	}
	cs, n := changeSet{}, 0
	named := map[int64]bool{} // the revisions with change_log rows
	for rows.Next() {
		var rev int64
		var kind, key string
		if err := rows.Scan(&rev, &kind, &key); err != nil {
			rows.Close()
			return fmt.Errorf("catch up: change log: %w", err)
		}
		named[rev] = true
		if cs[kind] == nil {
			cs[kind] = map[string]bool{}
		}
		if !cs[kind][key] {
			cs[kind][key] = true
			n++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("catch up: change log: %w", err)
	}
	// Revocations first, whatever happens to the rest (a reload purges).
	s.invalidateAuth(cs)
	if n > reloadThreshold {
		return errTooMany
	}
	d, err := r.delta(cs, to)
	if err != nil {
		return err
	}
	if s.follower != nil {
		if err := s.follower.Apply(d); err != nil {
			return err
		}
	}
	if d.Policy != nil {
		s.setPolicy(d.Policy)
	}
	unnamed := int64(len(named)) < to-from
	s.invalidateHeads(cs, unnamed)
	s.noteTeamPrincipals(r, cs, unnamed)
	s.applied.Store(to)
	return nil
}

// invalidateHeads drops the record heads that cs names from the head cache,
// or empties it when cs has more than it names or when unnamed: a revision
// in the range has no change_log row (a write of an older binary, which
// did not name its records, or one whose row was pruned).
func (s *Store) invalidateHeads(cs changeSet, unnamed bool) {
	if unnamed || len(cs[changeAllRecords]) > 0 {
		s.heads.flush()
		return
	}
	if len(cs[changeRecord]) == 0 {
		return
	}
	refs := make([]access.Ref, 0, len(cs[changeRecord]))
	for key := range cs[changeRecord] {
		refs = append(refs, recordChangeRef(key))
	}
	s.heads.drop(refs)
}

// invalidateAuth drops the cached tokens and sessions cs revokes.
func (s *Store) invalidateAuth(cs changeSet) {
	for id := range cs[changeToken] {
		s.auth.dropToken(id)
	}
	for hash := range cs[changeSession] {
		s.auth.dropSession(hash)
	}
	for id := range cs[changeSessions] {
		s.auth.dropUserSessions(id)
	}
	for id := range cs["user"] {
		s.auth.dropUser(id)
	}
}

// delta reads the current row of every access-model key cs names.
func (r reader) delta(cs changeSet, rev int64) (store.Delta, error) {
	d := store.Delta{Revision: rev}
	if ids := cs.keys("grant"); len(ids) > 0 {
		d.Grants = make(map[string]*access.Grant, len(ids))
		for _, id := range ids {
			g, err := r.grant(id)
			if err != nil && access.ErrorCode(err) != access.CodeNotFound {
				return d, err
			}
			d.Grants[id] = g
		}
	}
	if ks := cs.keys("member"); len(ks) > 0 {
		d.Members = make(map[string]bool, len(ks))
		for _, k := range ks {
			gid, uid, _ := strings.Cut(k, "/")
			ok, err := r.isMember(gid, uid)
			if err != nil {
				return d, err
			}
			d.Members[k] = ok
		}
	}
	if ids := cs.keys("group"); len(ids) > 0 {
		d.Groups = make(map[string]*access.Group, len(ids))
		for _, id := range ids {
			g, err := r.group(id)
			if err != nil && access.ErrorCode(err) != access.CodeNotFound {
				return d, err
			}
			d.Groups[id] = g
		}
	}
	if ids := cs.keys("user"); len(ids) > 0 {
		d.Users = make(map[string]*access.User, len(ids))
		for _, id := range ids {
			u, err := r.user(id)
			if err != nil && access.ErrorCode(err) != access.CodeNotFound {
				return d, err
			}
			d.Users[id] = u
		}
	}
	if ids := cs.keys("account"); len(ids) > 0 {
		d.Accounts = make(map[string]*access.Account, len(ids))
		for _, id := range ids {
			a, err := r.account(id)
			if err != nil && access.ErrorCode(err) != access.CodeNotFound {
				return d, err
			}
			d.Accounts[id] = a
		}
	}
	if len(cs["policy"]) > 0 {
		v, err := r.policy()
		if err != nil {
			return d, err
		}
		d.Policy = v.Policy
	}
	return d, nil
}
