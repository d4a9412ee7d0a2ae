// Package follow owns the access engine of one process and keeps it in
// step with a store's change log.
//
// Start creates the engine, attaches it to the store as its
// store.Follower (the store loads it, applies every local write to it
// before the write method returns, and catches it up inside write
// transactions that carry a Check) and starts one goroutine that applies
// other nodes' changes: it waits for a notification
// (store.ChangeStore.WaitForChange: PostgreSQL LISTEN/NOTIFY) or the poll
// interval, whichever comes first, and calls CatchUp. Close stops the
// goroutine and detaches the engine; call it before closing the store.
//
//	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
//	f, err := follow.Start(ctx, st, follow.Options{})
//	defer st.Close()
//	defer f.Close()
//	eng := f.Engine()
package follow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Options configure Start.
type Options struct {
	// Clock is the engine's clock (grant validity, days_back cutoffs);
	// nil means time.Now. Give it the store's clock.
	Clock func() time.Time
	// Logger receives catch-up problems; nil means slog.Default().
	Logger *slog.Logger
	// PollInterval is how often the follower catches up besides on
	// notifications; zero means 250 ms.
	PollInterval time.Duration
}

// Follower owns an access engine kept in step with a store. Its methods
// are safe for concurrent use.
type Follower struct {
	eng *access.Engine
	st  store.ChangeStore
	log *slog.Logger

	stop      context.CancelFunc // ends the goroutine
	done      chan struct{}      // closed when the goroutine has returned
	closeOnce sync.Once
}

// Start creates an engine on the built-in default policy, attaches it to
// st (which loads the stored policy and model into it) and starts the
// goroutine that follows other nodes' changes. ctx bounds the initial
// load only.
func Start(ctx context.Context, st store.ChangeStore, opts Options) (*Follower, error) {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	f := &Follower{eng: access.NewEngine(policy.Default(), opts.Clock), st: st, log: opts.Logger}
	if err := st.Attach(ctx, view{f.eng}); err != nil {
		return nil, fmt.Errorf("follow: %w", err)
	}
	fctx, cancel := context.WithCancel(context.Background())
	f.stop, f.done = cancel, make(chan struct{})
	go f.run(fctx, opts.PollInterval)
	return f, nil
}

// Engine returns the engine. It reflects every revision the store has
// applied (store.ChangeStore.Revision).
func (f *Follower) Engine() *access.Engine { return f.eng }

// Close stops following and detaches the engine from the store, which
// then no longer updates it. It is safe to call more than once.
func (f *Follower) Close() error {
	f.closeOnce.Do(func() {
		f.stop()
		<-f.done
		f.st.Detach()
	})
	return nil
}

// run catches up on every notification and poll until ctx ends.
func (f *Follower) run(ctx context.Context, interval time.Duration) {
	defer close(f.done)
	var listenErr error
	for {
		wctx, cancel := context.WithTimeout(ctx, interval)
		err := f.st.WaitForChange(wctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			if listenErr == nil {
				f.log.Warn("follow: listen for changes; polling until reconnected", "err", err)
			}
			listenErr = err
			// Poll for one interval before trying to listen again.
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
		} else if err == nil && listenErr != nil {
			f.log.Info("follow: listening for changes again")
			listenErr = nil
		}
		if err := f.st.CatchUp(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("follow: catch up", "err", err)
		}
	}
}

// view is the engine as a store.Follower.
type view struct{ e *access.Engine }

// Load replaces the engine's state with s.
func (v view) Load(s store.Snapshot) error {
	if err := v.e.SetPolicy(s.Policy); err != nil {
		// The engine's grants use a role the new policy lacks: empty the
		// engine first (the snapshot's grants match the new policy).
		if err := v.e.Load(access.Snapshot{}); err != nil {
			return err
		}
		if err := v.e.SetPolicy(s.Policy); err != nil {
			return fmt.Errorf("policy: %w", err)
		}
	}
	return v.e.Load(s.Model)
}

// Apply brings the engine's entities named by d to their state in d, in
// an order that keeps every intermediate engine state valid: removals
// first (grants, memberships, groups, users), then the policy, accounts
// (parents first; removed ones children first), users, groups,
// memberships and grants. Every changed grant is removed before it is put
// back, so that (principal, account) moves and role renames never collide.
func (v view) Apply(d store.Delta) error {
	e := v.e
	ignoreNotFound := func(err error) error {
		if access.ErrorCode(err) == access.CodeNotFound {
			return nil
		}
		return err
	}
	for _, id := range keys(d.Grants) {
		if err := ignoreNotFound(e.DeleteGrant(id)); err != nil {
			return err
		}
	}
	members := keys(d.Members)
	for _, k := range members {
		if !d.Members[k] {
			gid, uid, _ := strings.Cut(k, "/")
			if err := ignoreNotFound(e.RemoveMember(gid, uid)); err != nil {
				return err
			}
		}
	}
	for _, id := range keys(d.Groups) {
		if d.Groups[id] == nil {
			if err := ignoreNotFound(e.DeleteGroup(id)); err != nil {
				return err
			}
		}
	}
	for _, id := range keys(d.Users) {
		if d.Users[id] == nil {
			if err := ignoreNotFound(e.DeleteUser(id)); err != nil {
				return err
			}
		}
	}
	if d.Policy != nil {
		if err := e.SetPolicy(d.Policy); err != nil {
			return err
		}
	}
	// Accounts present: parents before children among the changed ones.
	var put func(id string) error
	done := map[string]bool{}
	put = func(id string) error {
		a := d.Accounts[id]
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
	accounts := keys(d.Accounts)
	for _, id := range accounts {
		if err := put(id); err != nil {
			return err
		}
	}
	// Accounts removed: deepest first.
	var gone []string
	depth := map[string]int{}
	for _, id := range accounts {
		if d.Accounts[id] == nil {
			gone = append(gone, id)
			for x, ok := e.Account(id); ok && x.Parent != ""; x, ok = e.Account(x.Parent) {
				depth[id]++
				if depth[id] > 1000 {
					break
				}
			}
		}
	}
	sort.SliceStable(gone, func(i, j int) bool { return depth[gone[i]] > depth[gone[j]] })
	for _, id := range gone {
		if err := ignoreNotFound(e.DeleteAccount(id)); err != nil {
			return err
		}
	}
	for _, id := range keys(d.Users) {
		if u := d.Users[id]; u != nil {
			if err := e.PutUser(*u); err != nil {
				return err
			}
		}
	}
	for _, id := range keys(d.Groups) {
		if g := d.Groups[id]; g != nil {
			if err := e.PutGroup(*g); err != nil {
				return err
			}
		}
	}
	for _, k := range members {
		if d.Members[k] {
			gid, uid, _ := strings.Cut(k, "/")
			if err := e.AddMember(gid, uid); err != nil {
				return err
			}
		}
	}
	for _, id := range keys(d.Grants) {
		if g := d.Grants[id]; g != nil {
			if err := e.PutGrant(*g); err != nil {
				return err
			}
		}
	}
	return nil
}

// keys returns the keys of m, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
