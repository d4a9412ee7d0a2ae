package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// ImportRecords upserts the chunks next returns in one write transaction
// (store.RecordStore). A file import is all or nothing like a batch, but
// larger than store.MaxBatch: rather than raising the batch limit (a
// records:batch body is buffered whole), the import keeps one transaction
// open and pulls chunks of at most store.MaxBatch records, so a
// million-record file needs memory for one chunk, not for the file. Each
// chunk is encoded on every core and written with Batch's statements
// (upsertRecords); other writers wait for the import's commit, as they
// wait for any write.
func (s *Store) ImportRecords(ctx context.Context, w store.Write, next func() ([]*access.Record, error)) (store.BatchResult, error) {
	var res store.BatchResult
	rev, err := s.write(ctx, w, func(t *wtx) error {
		for {
			recs, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if len(recs) > store.MaxBatch {
				return access.Errorf(access.CodeTooLarge, "an import chunk holds at most %d records, not %d", store.MaxBatch, len(recs))
			}
			rows, items := s.encodeBatch(recs)
			seen := make(map[access.Ref]int, len(recs))
			for i, r := range recs {
				if r == nil {
					continue
				}
				ref := access.Ref{Type: r.Type, ID: r.ID}
				if j, dup := seen[ref]; dup {
					items = append(items, access.ItemError{Index: i, Message: fmt.Sprintf("%s %s is already item %d of the chunk", r.Type, r.ID, j)})
				} else {
					seen[ref] = i
				}
			}
			if len(items) > 0 {
				sort.SliceStable(items, func(a, b int) bool { return items[a].Index < items[b].Index })
				return &access.Error{Code: access.CodeInvalid,
					Message: fmt.Sprintf("%d of %d import items are invalid", len(items), len(recs)), Items: items}
			}
			if err := t.upsertRecords(rows); err != nil {
				return err
			}
			res.Upserted += len(rows)
		}
		if res.Upserted == 0 {
			return errNoop
		}
		return nil
	})
	if err != nil {
		return store.BatchResult{}, err
	}
	res.Revision = rev
	return res, nil
}
