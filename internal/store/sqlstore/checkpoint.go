package sqlstore

import (
	"context"
	"time"
)

// SQLite checkpoints behind the writes. A commit in WAL mode is durable
// once its frames are in the WAL and the WAL is synced (synchronous FULL);
// copying them into the database file (a checkpoint) can come later. By
// default SQLite has the committing connection checkpoint, inside its
// COMMIT, whenever the WAL has grown past wal_autocheckpoint pages: the
// write that crosses the mark waits for the copy and for the database
// file's sync (2.1-2.6 s of a million-record import's 11-12 s, README
// "Bulk paths, ninth round"). The writer therefore never checkpoints
// (wal_autocheckpoint 0, dialect.go); each commit kicks the store's
// checkpointer, which runs a PASSIVE checkpoint on a read connection at
// most once per checkpointInterval. PASSIVE takes no lock a reader or the
// writer waits for; it copies what no reader still needs from the WAL,
// and the next write after a complete one starts the WAL over. The last
// connection to close checkpoints what is left (SQLite does that at
// Close), so a one-shot command leaves no WAL behind either. Writes
// outside a transaction (sessions, MFA challenges, the outbox's claims)
// do not kick: checkpointIdle bounds how long their frames wait.
const (
	checkpointInterval = time.Second
	checkpointIdle     = 30 * time.Second
)

// checkpointer runs the store's checkpoint goroutine (SQLite only).
type checkpointer struct {
	kick   chan struct{} // capacity 1: kicks coalesce
	cancel context.CancelFunc
	done   chan struct{}
}

// startCheckpointer starts the checkpoint goroutine and kicks it once,
// for a WAL a stopped process left (SQLite only).
func (s *Store) startCheckpointer() {
	if s.dialect.name() != "sqlite" {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.ckpt = checkpointer{kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go s.runCheckpointer(ctx, s.ckpt.kick, s.ckpt.done)
	s.kickCheckpointer()
}

// kickCheckpointer asks for a checkpoint after a commit; it never blocks.
func (s *Store) kickCheckpointer() {
	select {
	case s.ckpt.kick <- struct{}{}:
	default: // one is pending already, or there is no checkpointer
	}
}

// runCheckpointer checkpoints after kicks, at most once per
// checkpointInterval, and every checkpointIdle, until ctx ends.
func (s *Store) runCheckpointer(ctx context.Context, kick <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	idle := time.NewTicker(checkpointIdle)
	defer idle.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-idle.C:
		}
		if wait := checkpointInterval - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if err := s.checkpoint(ctx); err != nil && ctx.Err() == nil {
			// The WAL keeps the frames; the next kick tries again.
			s.log.Warn("sqlstore: checkpoint", "err", err)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint.
func (s *Store) checkpoint(ctx context.Context) error {
	var busy, frames, copied int64
	return s.rdb.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
}

// stopCheckpointer ends the checkpoint goroutine and waits for it; a
// checkpoint under way is interrupted (the WAL keeps its frames).
func (s *Store) stopCheckpointer() {
	if s.ckpt.cancel == nil {
		return
	}
	s.ckpt.cancel()
	<-s.ckpt.done
	s.ckpt.cancel = nil
}
