// Package sqlstore implements store.Store over database/sql for SQLite and
// PostgreSQL.
package sqlstore

// Store is the SQL implementation of store.Store.
type Store struct{}
