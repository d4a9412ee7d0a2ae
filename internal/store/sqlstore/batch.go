package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/parallel"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// batchChunk is the number of rows one multi-row INSERT writes: at most
// 12 parameters a row keeps a statement far below SQLite's 32,766 and
// PostgreSQL's 65,535 parameters, and large enough that statement overhead
// vanishes next to the B-tree work.
const batchChunk = 400

// Batch applies up to store.MaxBatch upserts and deletes in one
// transaction, all or nothing, and increments the revision once. Every item
// is validated before anything is written; the bad ones fail the batch with
// one CodeInvalid error whose Items name each (Index is the position in
// Upsert, and len(Upsert)+j for Delete[j]). A (type, id) named twice in one
// batch is invalid; deleting a record that does not exist is a no-op.
// BatchResult.Deleted counts the records that were actually deleted.
func (s *Store) Batch(ctx context.Context, w store.Write, b store.RecordBatch) (store.BatchResult, error) {
	n := len(b.Upsert) + len(b.Delete)
	if n > store.MaxBatch {
		return store.BatchResult{}, access.Errorf(access.CodeTooLarge, "a batch holds at most %d items, not %d", store.MaxBatch, n)
	}
	if n == 0 {
		rev, err := s.currentRevision(ctx)
		return store.BatchResult{Revision: rev}, err
	}
	rows, items := s.encodeBatch(b.Upsert, false)
	seen := make(map[access.Ref]int, n)
	items = append(items, duplicateItems(b.Upsert, seen, "batch")...)
	for j, ref := range b.Delete {
		i := len(b.Upsert) + j
		switch {
		case s.policyNow().Type(ref.Type) == nil:
			items = append(items, access.ItemError{Index: i, Message: fmt.Sprintf("delete[%d]: unknown object type %s", j, ref.Type)})
		case !access.ValidID(ref.ID):
			items = append(items, access.ItemError{Index: i, Message: fmt.Sprintf("delete[%d]: record id %q is not a valid id", j, ref.ID)})
		default:
			if k, dup := seen[ref]; dup {
				items = append(items, access.ItemError{Index: i, Message: fmt.Sprintf("delete[%d]: %s %s is already item %d of the batch", j, ref.Type, ref.ID, k)})
			} else {
				seen[ref] = i
			}
		}
	}
	if len(items) > 0 {
		sort.SliceStable(items, func(a, b int) bool { return items[a].Index < items[b].Index })
		return store.BatchResult{}, &access.Error{Code: access.CodeInvalid,
			Message: fmt.Sprintf("%d of %d batch items are invalid", len(items), n), Items: items}
	}

	res := store.BatchResult{Upserted: len(rows)}
	var now time.Time
	rev, err := s.write(ctx, w, func(t *wtx) error {
		now = t.now
		if err := t.deleteRecords(b.Delete, &res.Deleted); err != nil {
			return err
		}
		return t.upsertRecords(rows)
	})
	if err != nil {
		return store.BatchResult{}, err
	}
	res.Revision = rev
	for _, r := range b.Upsert {
		r.UpdatedAt, r.Revision = now, rev
	}
	return res, nil
}

// encodeBatch validates and encodes upserts on every core (validation and
// JSON encoding dominate a batch's CPU time), returning the rows in order
// and the problems by item; searchLater is encodeRecord's.
func (s *Store) encodeBatch(recs []*access.Record, searchLater bool) ([]recordRow, []access.ItemError) {
	rows := make([]recordRow, len(recs))
	errs := make([]error, len(recs))
	parallel.For(len(recs), func(i int) { rows[i], errs[i] = s.encodeRecord(recs[i], searchLater) })
	var items []access.ItemError
	for i, err := range errs {
		if err == nil {
			continue
		}
		msg := "invalid record"
		var ae *access.Error
		if errors.As(err, &ae) {
			msg = ae.Message
		}
		items = append(items, access.ItemError{Index: i, Message: msg})
	}
	return rows, items
}

// duplicateItems returns an error for each record of recs whose (type, id)
// an earlier one named, recording in seen where each first appears; of
// names the whole ("batch", "chunk") in the message.
func duplicateItems(recs []*access.Record, seen map[access.Ref]int, of string) []access.ItemError {
	var items []access.ItemError
	for i, r := range recs {
		if r == nil {
			continue
		}
		ref := access.Ref{Type: r.Type, ID: r.ID}
		if j, dup := seen[ref]; dup {
			items = append(items, access.ItemError{Index: i, Message: fmt.Sprintf("%s %s is already item %d of the %s", r.Type, r.ID, j, of)})
		} else {
			seen[ref] = i
		}
	}
	return items
}

// deleteRecords deletes the named records (missing ones are skipped) and
// adds the number deleted to n.
func (t *wtx) deleteRecords(refs []access.Ref, n *int) error {
	for _, ref := range refs {
		t.recordChanged(ref.Type, ref.ID)
	}
	var pks []int64 // the deleted rows, for the search index
	if err := chunksByType(refs, func(typ string, chunk []string) error {
		b := &sqlb{d: t.s.dialect}
		where := "type = " + b.p(typ) + " AND " + b.in("id", chunk)
		if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM record_teams WHERE record_pk IN (SELECT pk FROM records WHERE "+where+")", b.args...); err != nil {
			return fmt.Errorf("delete record teams: %w", err)
		}
		deleted, err := t.deleteReturning("DELETE FROM records WHERE "+where+" RETURNING pk, id, owner, parent_type, parent_id, teams", &pks, b.args...)
		if err != nil {
			return fmt.Errorf("delete records: %w", err)
		}
		*n += len(deleted)
		for _, id := range chunk { // audited in the batch's order
			if h, ok := deleted[id]; ok {
				if err := t.auditDelete(typ, id, h); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if t.s.dialect.name() == "sqlite" {
		return t.deleteSearch(pks)
	}
	return nil
}

// chunksByType calls fn with the distinct ids of refs grouped by type (in
// the order the types first appear), at most batchChunk ids at a time,
// until fn fails.
func chunksByType(refs []access.Ref, fn func(typ string, ids []string) error) error {
	byType := map[string][]string{}
	var types []string
	seen := make(map[access.Ref]bool, len(refs))
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if byType[ref.Type] == nil {
			types = append(types, ref.Type)
		}
		byType[ref.Type] = append(byType[ref.Type], ref.ID)
	}
	for _, typ := range types {
		for ids := byType[typ]; len(ids) > 0; {
			chunk := ids[:min(len(ids), batchChunk)]
			ids = ids[len(chunk):]
			if err := fn(typ, chunk); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteReturning runs a DELETE ... RETURNING pk, id and the sharing
// columns, appends the deleted rows' keys to pks and returns their
// sharing by id.
func (t *wtx) deleteReturning(q string, pks *[]int64, args ...any) (map[string]*storedSharing, error) {
	rs, err := t.tx.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := map[string]*storedSharing{}
	for rs.Next() {
		var id string
		var pk int64
		h := &storedSharing{}
		if err := rs.Scan(append([]any{&pk, &id}, h.dest()...)...); err != nil {
			return nil, err
		}
		out[id] = h
		*pks = append(*pks, pk)
	}
	return out, rs.Err()
}

// upsertRecords writes rows. On SQLite it looks their keys up first and
// inserts the new records with multi-row INSERT OR IGNORE statements and
// updates the existing ones by pk (sqliteUpsert); PostgreSQL takes
// multi-row INSERT ... ON CONFLICT DO UPDATE statements. Either way the
// team entries of the records being replaced go first and the new ones
// last.
func (t *wtx) upsertRecords(rows []recordRow) error {
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		if t.recsAll {
			break
		}
		t.recordChanged(rows[i].typ, rows[i].id)
	}
	return t.s.dialect.upsertRecords(t, rows)
}

// postgresUpsert is upsertRecords on PostgreSQL.
func (t *wtx) postgresUpsert(rows []recordRow) error {
	// Plans for these values, not generic ones: after five runs of a
	// prepared statement PostgreSQL may switch to a generic plan, and
	// without statistics for the rows this transaction wrote, the generic
	// lookup read every record of the type (1 s a chunk at 10,000
	// records).
	if _, err := t.tx.ExecContext(t.ctx, "SET LOCAL plan_cache_mode = force_custom_plan"); err != nil {
		return fmt.Errorf("upsert records: %w", err)
	}
	found := map[int]foundRow{}
	if !t.unstored { // else none can exist
		var err error
		if found, err = t.lookupRows(rows); err != nil {
			return err
		}
	}
	if err := t.auditBatchSharing(rows, found); err != nil {
		return err
	}
	if err := t.clearFoundTeams(found); err != nil {
		return err
	}
	var stored, fresh []recordRow
	for i := range rows {
		if _, ok := found[i]; ok {
			stored = append(stored, rows[i])
		} else {
			fresh = append(fresh, rows[i])
		}
	}
	if err := t.postgresUpdate(stored); err != nil {
		return err
	}
	if err := t.copyRecords(fresh); err != nil {
		return err
	}
	return t.postgresTeams(rows)
}

// postgresUpdate writes rows over the stored records they name with one
// upsert statement (postgresUpsertSQL).
func (t *wtx) postgresUpdate(rows []recordRow) error {
	if len(rows) == 0 {
		return nil
	}
	cols := make([][]*string, 10) // nil: NULL
	vals := make([][]string, 10)
	for i := range cols {
		cols[i], vals[i] = make([]*string, len(rows)), make([]string, len(rows))
	}
	for i := range rows {
		r := &rows[i]
		for c, v := range [...]any{r.typ, r.id, r.owner, r.date, r.dkey, r.parentType, r.parentID, r.teams, r.creator, r.attributes} {
			switch v := v.(type) {
			case string:
				vals[c][i] = v
				cols[c][i] = &vals[c][i]
			case nil:
			default:
				return fmt.Errorf("upsert records: column %d is a %T", c, v)
			}
		}
	}
	args := make([]any, 0, 12)
	for _, c := range cols {
		args = append(args, c)
	}
	args = append(args, toMicros(t.now), t.rev)
	if _, err := t.tx.ExecContext(t.ctx, postgresUpsertSQL, args...); err != nil {
		return fmt.Errorf("upsert records: %w", err)
	}
	return nil
}

// copyColumns are the columns copyRecords writes, in recordRow's order.
var copyColumns = strings.Split(strings.ReplaceAll(recordInsertCols, " ", ""), ",")

// copyRecords inserts rows, which lookupRows found nowhere, with COPY
// through the transaction's pgx connection: no statement to parse, no
// unnest to materialize, rows streamed in the binary format. A row that
// exists after all (none can: writers hold the revision row's lock, and
// the lookup ran in this transaction) fails the batch on records_type_id.
func (t *wtx) copyRecords(rows []recordRow) error {
	if len(rows) == 0 {
		return nil
	}
	now := toMicros(t.now)
	err := t.conn.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return fmt.Errorf("the driver connection is a %T, not pgx's", dc)
		}
		vals := make([]any, len(copyColumns))
		i := 0
		n, err := pc.Conn().CopyFrom(t.ctx, pgx.Identifier{"records"}, copyColumns, pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(rows) {
				return nil, nil
			}
			r := &rows[i]
			i++
			vals[0], vals[1], vals[2], vals[3], vals[4], vals[5] = r.typ, r.id, r.owner, r.date, r.dkey, r.parentType
			vals[6], vals[7], vals[8], vals[9], vals[10], vals[11] = r.parentID, r.teams, r.creator, r.attributes, now, t.rev
			return vals, nil
		}))
		if err == nil && n != int64(len(rows)) {
			err = fmt.Errorf("%d of %d rows copied", n, len(rows))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("insert records: %w", err)
	}
	return nil
}

// postgresTeams inserts the team entries of rows in one statement, the
// records' pks joined by (type, id).
func (t *wtx) postgresTeams(rows []recordRow) error {
	var typ, id, principal, acc []string
	for _, r := range rows {
		for _, te := range r.entries {
			typ, id = append(typ, r.typ), append(id, r.id)
			principal, acc = append(principal, te.Principal), append(acc, te.Access)
		}
	}
	if len(typ) == 0 {
		return nil
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO record_teams (record_pk, principal, access) `+
		`SELECT r.pk, u.principal, u.access FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(type, id, principal, access) `+
		`CROSS JOIN LATERAL (SELECT pk FROM records WHERE type = u.type COLLATE "C" AND id = u.id COLLATE "C" LIMIT 1) r`,
		typ, id, principal, acc); err != nil {
		return fmt.Errorf("insert teams: %w", err)
	}
	return nil
}

// postgresUpsertSQL upserts a whole batch in one statement: each column
// is one text array parameter, zipped by unnest, so PostgreSQL parses and
// plans one statement instead of one per 400 rows, and pgx sends 10
// arrays instead of 120,000 parameters.
const postgresUpsertSQL = `INSERT INTO records (` + recordInsertCols + `) ` +
	`SELECT u.type, u.id, u.owner, u.date, u.dkey, u.parent_type, u.parent_id, u.teams, u.creator, u.attributes::jsonb, $11, $12 ` +
	`FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[]) ` +
	`AS u(type, id, owner, date, dkey, parent_type, parent_id, teams, creator, attributes) ` +
	`ON CONFLICT (type, id) DO UPDATE SET ` + recordUpdateSet

// sqliteUpsert is upsertRecords on SQLite. A multi-row statement that may
// abort halfway (any UPSERT: its DO UPDATE checks NOT NULL columns with
// ABORT) makes SQLite copy every page it touches to a statement journal
// first, which cost a third of a batch's write time. So the records that
// exist are looked up first (the lookup reads the (type, id) index and, for
// the ones found, their row), new ones are inserted with multi-row
// INSERT OR IGNORE statements, which cannot abort (every NOT NULL column
// has a value, and (type, id) was just looked up in this transaction, the
// only writer; the number inserted is checked anyway), and existing ones
// are updated by pk one prepared statement each, which writes one row and
// needs no statement journal either.
func (t *wtx) sqliteUpsert(rows []recordRow) error {
	found := map[int]foundRow{}
	if !t.allNew && !t.unstored { // else none can exist
		var err error
		if found, err = t.lookupRows(rows); err != nil {
			return err
		}
	}
	if err := t.auditBatchSharing(rows, found); err != nil {
		return err
	}
	if err := t.clearFoundTeams(found); err != nil {
		return err
	}
	now := toMicros(t.now)
	if len(found) > 0 {
		stmt, err := t.tx.PrepareContext(t.ctx, `UPDATE records SET owner = ?, date = ?, dkey = ?, parent_type = ?, parent_id = ?, `+
			`teams = ?, creator = ?, attributes = ?, updated_at = ?, revision = ? WHERE pk = ?`)
		if err != nil {
			return fmt.Errorf("prepare update: %w", err)
		}
		defer stmt.Close()
		for i := range rows {
			f, ok := found[i]
			if !ok {
				continue
			}
			r := &rows[i]
			if _, err := stmt.ExecContext(t.ctx, r.owner, r.date, r.dkey, r.parentType, r.parentID, r.teams, r.creator,
				r.attributes, now, t.rev, f.pk); err != nil {
				return fmt.Errorf("update records: %w", err)
			}
		}
	}
	fresh := rows
	if len(found) > 0 {
		fresh = make([]recordRow, 0, len(rows)-len(found))
		for i := range rows {
			if _, ok := found[i]; !ok {
				fresh = append(fresh, rows[i])
			}
		}
	}
	if len(found) == 0 {
		fresh = slices.Clone(rows) // the caller's order stays
	}
	// Insert in the order of records_owner, whose entries an import
	// scatters most (ids and dates mostly arrive in order, owners do not):
	// consecutive inserts then meet the same pages, which measured about
	// 30% less CPU per row than the order of the batch. Not while an
	// import has dropped the index (deferredIndexes): the batch's order
	// is then the key's.
	if !t.indexesDeferred {
		slices.SortFunc(fresh, compareOwnerOrder)
	}
	var last int64 // the largest key before the inserts
	if err := t.tx.QueryRowContext(t.ctx, "SELECT coalesce(max(pk), 0) FROM records").Scan(&last); err != nil {
		return fmt.Errorf("insert records: %w", err)
	}
	if err := t.insertRows(fresh, now); err != nil {
		return err
	}
	if err := t.sqliteSearch(rows, found, fresh, last); err != nil {
		return err
	}
	return t.insertTeams(rows)
}

// sqliteSearch writes the search index entries of a batch (see
// writeSearch): the updated records' entries are replaced, and the
// inserted ones (fresh, in the order insertRows wrote them) got the keys
// after last, one more each: SQLite gives a new row the largest key plus
// one, which the largest key after the inserts confirms (else their
// entries are computed from the stored rows).
func (t *wtx) sqliteSearch(rows []recordRow, found map[int]foundRow, fresh []recordRow, last int64) error {
	var replaced []int64
	entries := make([]searchEntry, 0, len(rows))
	for i, f := range found {
		replaced = append(replaced, f.pk)
		entries = append(entries, searchEntry{f.pk, rows[i].searchColumns()})
	}
	var max int64
	if err := t.tx.QueryRowContext(t.ctx, "SELECT coalesce(max(pk), 0) FROM records").Scan(&max); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	if max != last+int64(len(fresh)) {
		if err := t.writeSearch(replaced, entries); err != nil {
			return err
		}
		return t.writeSearchFrom(last)
	}
	if len(fresh) >= searchBehindMin && !t.allNew {
		// Many new records: their entries are written behind the commit
		// (searchbacklog.go; LoadRecords fills an empty database and
		// stages its entries instead).
		if err := t.writeSearch(replaced, entries); err != nil {
			return err
		}
		return t.addBacklog(last+1, max)
	}
	for i := range fresh {
		entries = append(entries, searchEntry{last + 1 + int64(i), fresh[i].searchColumns()})
	}
	return t.writeSearch(replaced, entries)
}

// clearFoundTeams deletes the team entries of the stored records among
// found (lookupRows' answer) that have some, by pk, before they are
// replaced.
func (t *wtx) clearFoundTeams(found map[int]foundRow) error {
	var withTeams []int64
	for _, f := range found {
		if f.head.teams.Valid {
			withTeams = append(withTeams, f.pk)
		}
	}
	for len(withTeams) > 0 {
		chunk := withTeams[:min(len(withTeams), batchChunk)]
		withTeams = withTeams[len(chunk):]
		args := make([]any, len(chunk))
		for i, pk := range chunk {
			args[i] = pk
		}
		if _, err := t.tx.ExecContext(t.ctx, t.s.rebind("DELETE FROM record_teams WHERE record_pk IN ("+placeholders(len(chunk))+")"), args...); err != nil {
			return fmt.Errorf("replace record teams: %w", err)
		}
	}
	return nil
}

// compareOwnerOrder orders rows as SQLite's records_owner does: by owner
// (NULL first), type, dkey descending and id descending.
func compareOwnerOrder(a, b recordRow) int {
	ao, aok := a.owner.(string)
	bo, bok := b.owner.(string)
	if aok != bok {
		if aok {
			return 1
		}
		return -1
	}
	if c := strings.Compare(ao, bo); c != 0 {
		return c
	}
	if c := strings.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	if c := strings.Compare(b.dkey, a.dkey); c != 0 {
		return c
	}
	return strings.Compare(b.id, a.id)
}

// insertRows inserts rows that do not exist with multi-row INSERT OR
// IGNORE statements (see sqliteUpsert) and fails unless every row was
// inserted. Binding is most of a row's cost outside the B-trees (each
// parameter is a driver call that takes SQLite's mutex and copies the
// text), so a statement binds only what varies: the write's updated_at
// and revision are literals, so is the type when every row of the chunk
// has the same (an import's always), and so is NULL for a nullable column
// that is NULL in every row of the chunk (an import's parent, teams and
// creator, mostly). The statements run on the driver's connection, which
// skips database/sql's conversion of every argument; one is prepared per
// chunk shape and reused.
func (t *wtx) insertRows(rows []recordRow, now int64) error {
	err := t.conn.Raw(func(dc any) error {
		conn, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("the driver connection is a %T, which cannot prepare", dc)
		}
		stmts := map[insertShape]driver.StmtExecContext{}
		defer func() {
			for _, st := range stmts {
				st.(driver.Stmt).Close()
			}
		}()
		args := make([]driver.NamedValue, 0, recordParams*batchChunk)
		for start := 0; start < len(rows); start += batchChunk {
			chunk := rows[start:min(len(rows), start+batchChunk)]
			shape := insertShape{n: len(chunk), nulls: nullColumns(chunk), typ: commonType(chunk)}
			bound := shape.nulls
			if shape.typ != "" {
				bound |= 1 // column 0, the type, is the literal
			}
			st := stmts[shape]
			if st == nil {
				ps, err := conn.PrepareContext(t.ctx, insertSQL(shape, now, t.rev))
				if err != nil {
					return fmt.Errorf("prepare: %w", err)
				}
				if st, ok = ps.(driver.StmtExecContext); !ok {
					ps.Close()
					return fmt.Errorf("the driver statement is a %T, which cannot execute with a context", ps)
				}
				stmts[shape] = st
			}
			args = args[:0]
			for i := range chunk {
				for c, v := range chunk[i].insertValues() {
					if bound&(1<<c) == 0 {
						args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
					}
				}
			}
			res, err := st.ExecContext(t.ctx, args)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
				return fmt.Errorf("%d of %d rows inserted (%v)", n, len(chunk), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert records: %w", err)
	}
	return nil
}

// recordParams is the number of a row's columns an insert binds at most:
// recordInsertCols but updated_at and revision.
const recordParams = 10

// insertValues are r's values for the first recordParams columns of
// recordInsertCols, in order.
func (r *recordRow) insertValues() [recordParams]any {
	return [recordParams]any{r.typ, r.id, r.owner, r.date, r.dkey, r.parentType, r.parentID, r.teams, r.creator, r.attributes}
}

// insertShape is what an insert statement of insertRows depends on: its
// number of rows, which columns (bits by position in insertValues) are
// NULL literals, and the type literal of all rows ("" when they differ;
// column 0 is then bound).
type insertShape struct {
	n     int
	nulls uint16
	typ   string
}

// commonType returns the type of every row of rows, or "" when they
// differ.
func commonType(rows []recordRow) string {
	for i := range rows {
		if rows[i].typ != rows[0].typ {
			return ""
		}
	}
	return rows[0].typ
}

// nullColumns returns the columns of insertValues that are nil in every
// row of rows, as insertShape's bits.
func nullColumns(rows []recordRow) uint16 {
	var some uint16 // columns that are set in some row
	for i := range rows {
		for c, v := range rows[i].insertValues() {
			if v != nil {
				some |= 1 << c
			}
		}
	}
	return ^some & (1<<recordParams - 1)
}

// insertSQL is the SQLite multi-row INSERT OR IGNORE of shape's rows
// with the literals now and rev, and ? placeholders for the rest (numbered
// ones make SQLite look each parameter's name up in a list, quadratic in
// the thousands of parameters of a chunk).
func insertSQL(shape insertShape, now, rev int64) string {
	var row strings.Builder
	row.WriteString("(")
	for c := range recordParams {
		if c == 0 && shape.typ != "" {
			// A type is an id (A-Za-z0-9._:-); doubling quotes keeps the
			// literal one string whatever it holds.
			row.WriteString("'" + strings.ReplaceAll(shape.typ, "'", "''") + "', ")
		} else if shape.nulls&(1<<c) != 0 {
			row.WriteString("NULL, ")
		} else {
			row.WriteString("?, ")
		}
	}
	fmt.Fprintf(&row, "%d, %d)", now, rev)
	head := "INSERT OR IGNORE INTO records (" + recordInsertCols + ") VALUES "
	var b strings.Builder
	b.Grow(len(head) + (row.Len()+2)*shape.n)
	b.WriteString(head)
	for i := range shape.n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row.String())
	}
	return b.String()
}

// multiRowSQL is head followed by n rows of params ? placeholders each.
func multiRowSQL(head string, params, n int) string {
	row := "(?" + strings.Repeat(", ?", params-1) + ")"
	var b strings.Builder
	b.Grow(len(head) + (len(row)+2)*n)
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// foundRow is a record of a batch that exists: its pk and its stored
// sharing (whether it has team entries: head.teams.Valid).
type foundRow struct {
	pk   int64
	head storedSharing
}

// auditBatchSharing queues the record.sharing entries of a batch's
// upserts (found is lookupRows' answer): one for each row that changes
// a stored record's sharing or creates one with teams.
func (t *wtx) auditBatchSharing(rows []recordRow, found map[int]foundRow) error {
	for i := range rows {
		var before *storedSharing
		if f, ok := found[i]; ok {
			before = &f.head
		}
		if err := t.auditSharing(before, &rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// lookupRows returns the rows that exist, by index in rows, with their
// stored sharing.
func (t *wtx) lookupRows(rows []recordRow) (map[int]foundRow, error) {
	byType := map[string][]int{}
	var types []string
	for i := range rows {
		typ := rows[i].typ
		if byType[typ] == nil {
			types = append(types, typ)
		}
		byType[typ] = append(byType[typ], i)
	}
	found := map[int]foundRow{}
	for _, typ := range types {
		idx := byType[typ]
		for len(idx) > 0 {
			chunk := idx[:min(len(idx), batchChunk)]
			idx = idx[len(chunk):]
			pos := make(map[string]int, len(chunk))
			args := make([]any, 0, len(chunk)+1)
			args = append(args, typ)
			for _, i := range chunk {
				pos[rows[i].id] = i
				args = append(args, rows[i].id)
			}
			q := t.s.rebind("SELECT id, pk, owner, parent_type, parent_id, teams FROM records WHERE type = ? AND id IN (" + placeholders(len(chunk)) + ")")
			if t.s.dialect.name() == "postgres" {
				// One probe of records_type_id per id, whatever the
				// statistics say: inside an import's transaction the
				// planner sees none of the rows it wrote and, for the IN
				// list, scans every record of the type (quadratic: 25 s a
				// batch at 50,000 records).
				ids := make([]string, len(chunk))
				for k, i := range chunk {
					ids[k] = rows[i].id
				}
				q, args = postgresLookupSQL, []any{typ, ids}
			}
			if err := func() error {
				rs, err := t.tx.QueryContext(t.ctx, q, args...)
				if err != nil {
					return err
				}
				defer rs.Close()
				for rs.Next() {
					var id string
					var f foundRow
					if err := rs.Scan(append([]any{&id, &f.pk}, f.head.dest()...)...); err != nil {
						return err
					}
					found[pos[id]] = f
				}
				return rs.Err()
			}(); err != nil {
				return nil, fmt.Errorf("look up records: %w", err)
			}
		}
	}
	return found, nil
}

// postgresLookupSQL is lookupRows' query on PostgreSQL ($1 type, $2 the
// ids): the LIMIT keeps the lateral subquery a per-id index probe, and
// COLLATE "C" lets it use records_type_id (an unnest column has the
// default collation; against id's "C" the comparison would have none).
const postgresLookupSQL = `SELECT r.id, r.pk, r.owner, r.parent_type, r.parent_id, r.teams FROM unnest($2::text[]) AS k(id) ` +
	`CROSS JOIN LATERAL (SELECT id, pk, owner, parent_type, parent_id, teams FROM records WHERE type = $1 AND id = k.id COLLATE "C" LIMIT 1) r`

// insertTeams inserts the team entries of rows, looking each record's pk
// up by (type, id). Team entries are rare (records on behalf of a
// customer), so one prepared statement per entry is enough.
func (t *wtx) insertTeams(rows []recordRow) error {
	var stmt *sql.Stmt
	for _, r := range rows {
		for _, te := range r.entries {
			if stmt == nil {
				var err error
				stmt, err = t.tx.PrepareContext(t.ctx, `INSERT INTO record_teams (record_pk, principal, access) `+
					`SELECT pk, $3, $4 FROM records WHERE type = $1 AND id = $2`)
				if err != nil {
					return fmt.Errorf("prepare teams: %w", err)
				}
				defer stmt.Close()
			}
			if _, err := stmt.ExecContext(t.ctx, r.typ, r.id, te.Principal, te.Access); err != nil {
				return fmt.Errorf("insert teams: %w", err)
			}
		}
	}
	return nil
}
