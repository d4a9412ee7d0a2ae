package sqlstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestCheckpointBehindWrites: the writer never checkpoints inside a
// commit (wal_autocheckpoint 0), and the store's checkpointer copies a
// committed batch from the WAL into the database file soon after, while
// the store stays open.
func TestCheckpointBehindWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ckpt.db")
	s := recOpen(t, path)
	var auto int
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("writer's wal_autocheckpoint = %d, want 0 (the checkpointer copies the WAL)", auto)
	}
	size := func(name string) int64 {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size(path)
	recs := make([]*access.Record, 2000)
	for i := range recs {
		recs[i] = salesOrder(fmt.Sprintf("SO-%d", i), "c1", "2025-01-01", "open", float64(i))
	}
	if _, err := s.Batch(t.Context(), store.Write{Actor: "test"}, store.RecordBatch{Upsert: recs}); err != nil {
		t.Fatal(err)
	}
	var pages, pageSize int64
	if err := s.rdb.QueryRowContext(t.Context(), "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.QueryRowContext(t.Context(), "PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if pages*pageSize <= before {
		t.Fatalf("the batch did not grow the database (%d pages, file %d bytes)", pages, before)
	}
	// Only a checkpoint writes the database file; the WAL holds the batch
	// until then.
	deadline := time.Now().Add(10 * time.Second)
	for size(path) < pages*pageSize {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after the commit, want %d: no checkpoint ran", size(path), pages*pageSize)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
