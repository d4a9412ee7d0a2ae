package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
)

// reloadThreshold is the number of changed keys above which catch-up
// reloads the whole model instead of applying the changes one by one.
const reloadThreshold = 2000

// Revision returns the newest revision the store's engine reflects.
func (s *Store) Revision() int64 { return s.applied.Load() }

// WaitRevision returns once the engine reflects at least rev. It polls the
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

// readTx begins a read-only transaction that sees one consistent snapshot
// (REPEATABLE READ on PostgreSQL; a WAL read transaction on SQLite).
func (s *Store) readTx(ctx context.Context) (*sql.Tx, error) {
	var opts *sql.TxOptions
	if s.pg() {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.rdb.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin read: %w", err)
	}
	return tx, nil
}

// reload replaces the engine's whole state with the database's.
func (s *Store) reload(ctx context.Context) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.reloadLocked(ctx)
}

// reloadLocked loads the policy and the model from one snapshot into the
// engine and sets the applied revision. s.applyMu must be held.
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
	pv, err := r.policy()
	if err != nil {
		return err
	}
	var snap access.Snapshot
	if snap.Accounts, err = r.accounts(); err != nil {
		return err
	}
	if snap.Users, err = r.users(); err != nil {
		return err
	}
	if snap.Groups, err = r.groups(); err != nil {
		return err
	}
	if snap.Members, err = r.members(); err != nil {
		return err
	}
	if snap.Grants, err = r.grants(); err != nil {
		return err
	}
	tx.Rollback()
	if err := s.eng.SetPolicy(pv.Policy); err != nil {
		// The engine's grants use a role the new policy lacks: empty the
		// engine first (the snapshot's grants match the new policy).
		if err := s.eng.Load(access.Snapshot{}); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		if err := s.eng.SetPolicy(pv.Policy); err != nil {
			return fmt.Errorf("load: policy: %w", err)
		}
	}
	if err := s.eng.Load(snap); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	// A reload skips the change log, and with it any revocation: forget
	// every cached token and session.
	s.auth.purge()
	s.applied.Store(rev)
	return nil
}

// catchUp applies every change_log row newer than the applied revision to
// the engine, re-reading the current row of each changed key from one
// snapshot, then advances the applied revision to the snapshot's revision.
// It is what a write runs after commit and what the follower runs on a
// notification or poll. It falls back to a full reload when the changes
// are many or do not apply cleanly.
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
	err = s.applyChanges(ctx, from)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	s.log.Warn("sqlstore: incremental catch-up failed, reloading", "from", from, "err", err)
	return s.reloadLocked(ctx)
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
func (s *Store) applyChanges(ctx context.Context, from int64) error {
	tx, err := s.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	r := reader{s: s, q: tx, ctx: ctx}
	var rev int64
	if err := r.queryRow(`SELECT rev FROM revision WHERE id = 1`).Scan(&rev); err != nil {
		return fmt.Errorf("catch up: revision: %w", err)
	}
	// The primary key (revision, kind, key) serves this range scan.
	rows, err := r.query(`SELECT kind, key FROM change_log WHERE revision > ? AND revision <= ?`, from, rev)
	if err != nil {
		return fmt.Errorf("catch up: change log: %w", err)
	}
	cs, n := changeSet{}, 0
	for rows.Next() {
		var kind, key string
		if err := rows.Scan(&kind, &key); err != nil {
			rows.Close()
			return fmt.Errorf("catch up: change log: %w", err)
		}
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
	if err := s.apply(r, cs); err != nil {
		return err
	}
	s.applied.Store(rev)
	return nil
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

// apply brings the engine's entities named by cs to their state in r, in
// an order that keeps every intermediate engine state valid: removals
// first (grants, memberships, groups, users), then the policy, accounts
// (parents first; removed ones children first), users, groups,
// memberships and grants. Every changed grant is removed before it is put
// back, so that (principal, account) moves and role renames never collide.
func (s *Store) apply(r reader, cs changeSet) error {
	e := s.eng
	ignoreNotFound := func(err error) error {
		if access.ErrorCode(err) == access.CodeNotFound {
			return nil
		}
		return err
	}
	// Read every changed key's current row first.
	grants := map[string]*access.Grant{}
	for _, id := range cs.keys("grant") {
		g, err := r.grant(id)
		if err != nil && access.ErrorCode(err) != access.CodeNotFound {
			return err
		}
		grants[id] = g
	}
	members := map[string]bool{}
	for _, k := range cs.keys("member") {
		gid, uid, _ := strings.Cut(k, "/")
		ok, err := r.isMember(gid, uid)
		if err != nil {
			return err
		}
		members[k] = ok
	}
	groups := map[string]*access.Group{}
	for _, id := range cs.keys("group") {
		g, err := r.group(id)
		if err != nil && access.ErrorCode(err) != access.CodeNotFound {
			return err
		}
		groups[id] = g
	}
	users := map[string]*access.User{}
	for _, id := range cs.keys("user") {
		u, err := r.user(id)
		if err != nil && access.ErrorCode(err) != access.CodeNotFound {
			return err
		}
		users[id] = u
	}
	accounts := map[string]*access.Account{}
	for _, id := range cs.keys("account") {
		a, err := r.account(id)
		if err != nil && access.ErrorCode(err) != access.CodeNotFound {
			return err
		}
		accounts[id] = a
	}
	var pv *store.PolicyVersion
	if len(cs["policy"]) > 0 {
		v, err := r.policy()
		if err != nil {
			return err
		}
		pv = &v
	}

	for _, id := range cs.keys("grant") {
		if err := ignoreNotFound(e.DeleteGrant(id)); err != nil {
			return err
		}
	}
	for _, k := range cs.keys("member") {
		if !members[k] {
			gid, uid, _ := strings.Cut(k, "/")
			if err := ignoreNotFound(e.RemoveMember(gid, uid)); err != nil {
				return err
			}
		}
	}
	for id, g := range groups {
		if g == nil {
			if err := ignoreNotFound(e.DeleteGroup(id)); err != nil {
				return err
			}
		}
	}
	for id, u := range users {
		if u == nil {
			if err := ignoreNotFound(e.DeleteUser(id)); err != nil {
				return err
			}
		}
	}
	if pv != nil {
		if err := e.SetPolicy(pv.Policy); err != nil {
			return err
		}
	}
	// Accounts present: parents before children among the changed ones.
	var put func(id string) error
	done := map[string]bool{}
	put = func(id string) error {
		a := accounts[id]
		if done[id] || a == nil {
			return nil
		}
		done[id] = true
		if a.Parent != "" {
			if err := put(a.Parent); err != nil {
				return err
			}
		}
		return e.PutAccount(*a)
	}
	for _, id := range cs.keys("account") {
		if err := put(id); err != nil {
			return err
		}
	}
	// Accounts removed: deepest first.
	var gone []string
	depth := map[string]int{}
	for id, a := range accounts {
		if a == nil {
			gone = append(gone, id)
			for x, ok := e.Account(id); ok && x.Parent != ""; x, ok = e.Account(x.Parent) {
				depth[id]++
				if depth[id] > 1000 {
					break
				}
			}
		}
	}
	sort.Slice(gone, func(i, j int) bool { return depth[gone[i]] > depth[gone[j]] })
	for _, id := range gone {
		if err := ignoreNotFound(e.DeleteAccount(id)); err != nil {
			return err
		}
	}
	for _, u := range users {
		if u != nil {
			if err := e.PutUser(*u); err != nil {
				return err
			}
		}
	}
	for _, g := range groups {
		if g != nil {
			if err := e.PutGroup(*g); err != nil {
				return err
			}
		}
	}
	for _, k := range cs.keys("member") {
		if members[k] {
			gid, uid, _ := strings.Cut(k, "/")
			if err := e.AddMember(gid, uid); err != nil {
				return err
			}
		}
	}
	for _, id := range cs.keys("grant") {
		if g := grants[id]; g != nil {
			if err := e.PutGrant(*g); err != nil {
				return err
			}
		}
	}
	return nil
}

// follow keeps the engine in step with changes committed by other nodes
// (or other processes on the same SQLite file) until ctx ends: on
// PostgreSQL it LISTENs on a dedicated connection and catches up on every
// notification, and on both databases it also polls every interval.
func (s *Store) follow(ctx context.Context, interval time.Duration) {
	defer close(s.done)
	if !s.pg() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				s.followCatchUp(ctx)
			}
		}
	}
	for ctx.Err() == nil {
		err := s.listen(ctx, interval)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("sqlstore: listen for changes; polling until reconnected", "db", urlRedacted(s.dsn), "err", err)
		// Poll while the listener is down, then reconnect.
		t := time.NewTimer(time.Second)
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
				waiting = false
			case <-time.After(interval):
				s.followCatchUp(ctx)
			}
		}
	}
}

// listen runs one LISTEN session: it returns when the connection fails or
// ctx ends. A wait that times out is a poll.
func (s *Store) listen(ctx context.Context, interval time.Duration) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN portcullis"); err != nil {
		return err
	}
	s.followCatchUp(ctx) // changes made before LISTEN took effect
	for {
		wctx, cancel := context.WithTimeout(ctx, interval)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && wctx.Err() == nil {
			return err // a failure, not the poll timeout
		}
		if conn.IsClosed() {
			return errors.New("listener connection closed")
		}
		s.followCatchUp(ctx)
	}
}

func (s *Store) followCatchUp(ctx context.Context) {
	if err := s.catchUp(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("sqlstore: catch up", "err", err)
	}
}
