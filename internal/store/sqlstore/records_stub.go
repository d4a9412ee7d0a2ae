package sqlstore

// This file is a placeholder so that the package compiles before the record
// methods land; the records engineer deletes it together with their files.

import (
	"context"
	"errors"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

var errRecordsNotImplemented = errors.New("not implemented")

// GetRecord is not implemented yet.
func (s *Store) GetRecord(ctx context.Context, typ, id string) (*access.Record, error) {
	return nil, errRecordsNotImplemented
}

// GetRecords is not implemented yet.
func (s *Store) GetRecords(ctx context.Context, refs []access.Ref) (access.RecordMap, error) {
	return nil, errRecordsNotImplemented
}

// ListRecords is not implemented yet.
func (s *Store) ListRecords(ctx context.Context, q store.RecordQuery) ([]*access.Record, string, error) {
	return nil, "", errRecordsNotImplemented
}

// PutRecord is not implemented yet.
func (s *Store) PutRecord(ctx context.Context, r *access.Record) (bool, int64, error) {
	return false, 0, errRecordsNotImplemented
}

// DeleteRecord is not implemented yet.
func (s *Store) DeleteRecord(ctx context.Context, typ, id string) (int64, error) {
	return 0, errRecordsNotImplemented
}

// Batch is not implemented yet.
func (s *Store) Batch(ctx context.Context, b store.RecordBatch) (store.BatchResult, error) {
	return store.BatchResult{}, errRecordsNotImplemented
}
