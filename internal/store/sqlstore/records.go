package sqlstore

// This file holds the single-record methods of store.Store and the row
// encoding shared with Batch (batch.go) and ListRecords (list.go). The
// schema is migrations/*/0002_records.sql.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/jsonenc"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// dkeyLayout is the fixed-width form of an instant in dkey: every instant
// has the same length, so dkeys compare as strings in time order, and a
// date "YYYY-MM-DD" is a prefix of every instant of that UTC day.
const dkeyLayout = "2006-01-02T15:04:05.000000000Z"

// dateKey returns the sort and filter key of a record date: "" for an
// undated record, the date itself for "YYYY-MM-DD", and the UTC instant in
// dkeyLayout for an RFC 3339 instant. An unparsable date is CodeInvalid.
func dateKey(date string) (string, error) {
	if date == "" {
		return "", nil
	}
	if len(date) == len(time.DateOnly) {
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			return "", access.Errorf(access.CodeInvalid, "date %q is not YYYY-MM-DD or an RFC 3339 instant", date)
		}
		return date, nil
	}
	t, err := time.Parse(time.RFC3339Nano, date)
	if err != nil {
		return "", access.Errorf(access.CodeInvalid, "date %q is not YYYY-MM-DD or an RFC 3339 instant", date)
	}
	return t.UTC().Format(dkeyLayout), nil
}

// recordRow is a record encoded for its row: the values of recordInsertCols
// but updated_at and revision, which the transaction supplies.
type recordRow struct {
	typ, id              string
	owner                any // string or nil
	date, dkey           string
	parentType, parentID any // string or nil
	teams                any // JSON text or nil
	creator              any // string or nil
	attributes           string
	entries              []access.TeamEntry
	// search are the record's search index columns (searchValues; SQLite
	// only, nil on PostgreSQL, whose index is an expression of the row, and
	// until searchColumns when the encoder left them for later).
	search []string
}

// recordInsertCols are the columns an upsert writes, in order.
const recordInsertCols = "type, id, owner, date, dkey, parent_type, parent_id, teams, creator, attributes, updated_at, revision"

// recordUpdateSet is the DO UPDATE of an upsert on (type, id).
const recordUpdateSet = "owner = excluded.owner, date = excluded.date, dkey = excluded.dkey, " +
	"parent_type = excluded.parent_type, parent_id = excluded.parent_id, teams = excluded.teams, " +
	"creator = excluded.creator, attributes = excluded.attributes, updated_at = excluded.updated_at, " +
	"revision = excluded.revision"

// encodeRecord encodes a record for its row. The record's shape is the
// caller's (access.Engine.ValidateRecord): the store checks only what its
// encoding needs (a date it can key, attributes that encode as JSON within
// access.MaxAttributesSize, measured on the encoding it stores). Errors are
// *access.Error.
//
// On SQLite the row's search index columns are computed too, unless
// searchLater: then searchColumns computes them from the encoded
// attributes if the writer needs them (an import's chunks, whose entries
// mostly go to the backlog, which reads them from the stored rows).
func (s *Store) encodeRecord(r *access.Record, searchLater bool) (recordRow, error) {
	if r == nil {
		return recordRow{}, access.Errorf(access.CodeInvalid, "missing record")
	}
	row, err := encodeRow(r)
	if err == nil && s.dialect.name() == "sqlite" && !searchLater {
		row.search = searchValues(r.ID, r.Attributes)
	}
	return row, err
}

// searchColumns returns the row's search index columns (SQLite), computed
// from its encoded attributes as the backlog's indexer does
// (storedSearchValues, the id alone should they not parse) when the
// encoder left them for later.
func (r *recordRow) searchColumns() []string {
	if r.search == nil {
		r.search, _ = storedSearchValues(r.id, []byte(r.attributes))
	}
	return r.search
}

// encodeRow encodes a validated record.
func encodeRow(r *access.Record) (recordRow, error) {
	dkey, err := dateKey(r.Date)
	if err != nil {
		return recordRow{}, err
	}
	row := recordRow{typ: r.Type, id: r.ID, owner: nullString(r.Owner), date: r.Date, dkey: dkey,
		creator: nullString(r.Creator), attributes: "{}", entries: r.Teams}
	if r.Parent != nil {
		row.parentType, row.parentID = r.Parent.Type, r.Parent.ID
	}
	if len(r.Teams) > 0 {
		b, err := json.Marshal(r.Teams)
		if err != nil {
			return recordRow{}, access.Errorf(access.CodeInvalid, "teams cannot be encoded")
		}
		row.teams = string(b)
	}
	if len(r.Attributes) > 0 {
		b, err := encodeAttributes(r.Attributes)
		if err != nil {
			return recordRow{}, access.Errorf(access.CodeInvalid, "attributes cannot be encoded as JSON")
		}
		if n := marshalledSize(b); n > access.MaxAttributesSize {
			return recordRow{}, access.Errorf(access.CodeInvalid, "attributes are %d bytes, more than the %d allowed", n, access.MaxAttributesSize)
		}
		row.attributes = b
	}
	return row, nil
}

// GetRecord returns one record, whoever may see it (the caller decides
// visibility with the engine), or CodeNotFound. The primary key serves a
// statement prepared once for the read pool.
func (s *Store) GetRecord(ctx context.Context, typ, id string) (*access.Record, error) {
	r, err := scanRecord(s.readRow(ctx, s.dialect.getRecordSQL(false), typ, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("%s %s not found", typ, id)
	}
	if err != nil {
		return nil, fmt.Errorf("get record: %w", err)
	}
	return r, nil
}

// getRecordsChunk is the most ids GetRecords asks for in one query.
const getRecordsChunk = 500

// getRecordsPrepared is the most ids of one type GetRecords asks for with
// one placeholder each (the common case: the parents of a record or two);
// larger sets (a check:batch) are one parameter of a prepared statement
// too, a JSON array on SQLite and a text array on PostgreSQL.
const getRecordsPrepared = 8

// GetRecords returns the records that exist among refs, keyed by
// reference; missing ones are absent. It serves the engine as an
// access.RecordSource for following parents. Every query is a prepared
// statement, up to getRecordsChunk ids of one type each.
func (s *Store) GetRecords(ctx context.Context, refs []access.Ref) (access.RecordMap, error) {
	return s.getRecords(ctx, refs, false)
}

// GetRecordHeads returns the records that exist among refs, keyed by
// reference, like GetRecords but without reading their attributes: each
// has empty Attributes. It serves the decisions (check, explain, viewers,
// the parents a decision follows), which never read attributes, and
// records:batch, whose items mostly replace the attributes they carry, so
// that an import neither reads nor decodes the attributes of the records
// it overwrites.
func (s *Store) GetRecordHeads(ctx context.Context, refs []access.Ref) (access.RecordMap, error) {
	return s.getRecords(ctx, refs, true)
}

func (s *Store) getRecords(ctx context.Context, refs []access.Ref, heads bool) (access.RecordMap, error) {
	out := make(access.RecordMap, len(refs))
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
		ids := byType[typ]
		if len(ids) == 1 {
			if err := s.collect(ctx, s.dialect.getRecordSQL(heads), []any{typ, ids[0]}, out); err != nil {
				return nil, err
			}
			continue
		}
		for len(ids) > 0 {
			chunk := ids[:min(len(ids), getRecordsChunk)]
			ids = ids[len(chunk):]
			if err := s.collect(ctx, s.dialect.getRecordsSQL(len(chunk), heads), s.dialect.getRecordsArgs(typ, chunk), out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// collect runs a records query and adds its rows to out.
func (s *Store) collect(ctx context.Context, q string, args []any, out access.RecordMap) error {
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("get records: %w", err)
	}
	return collectRows(rows, out)
}

// collectRows adds the records of rows to out and closes rows.
func collectRows(rows *sql.Rows, out access.RecordMap) error {
	defer rows.Close()
	rs := newRowScan(false)
	for rows.Next() {
		r, err := rs.scan(rows)
		if err != nil {
			return fmt.Errorf("get records: %w", err)
		}
		out[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("get records: %w", err)
	}
	return nil
}

// PutRecord creates or replaces a record as given (owner and date already
// filled by the caller with access.Engine.FillRecord). It validates the
// record again (CodeInvalid; CodeNotFound for an unknown type), stores its
// team entries, and sets r.UpdatedAt and r.Revision to the new bookkeeping
// in the same transaction that increments the global revision.
func (s *Store) PutRecord(ctx context.Context, w store.Write, r *access.Record) (bool, int64, error) {
	row, err := s.encodeRecord(r, false)
	if err != nil {
		return false, 0, err
	}
	var created bool
	var now time.Time
	rev, err := s.write(ctx, w, func(t *wtx) error {
		now = t.now
		var err error
		created, err = t.putRow(&row)
		return err
	})
	if err != nil {
		return false, 0, err
	}
	r.UpdatedAt, r.Revision = now, rev
	return created, rev, nil
}

// putRow creates or replaces the record of row with its team entries,
// auditing changes of its owner, teams or parent, and reports whether it
// created it.
func (t *wtx) putRow(row *recordRow) (bool, error) {
	t.recordChanged(row.typ, row.id)
	created := false
	var pk int64
	var head storedSharing
	err := t.queryRow(`SELECT pk, owner, parent_type, parent_id, teams FROM records WHERE type = $1 AND id = $2`,
		row.typ, row.id).Scan(append([]any{&pk}, head.dest()...)...)
	hadTeams := head.teams.Valid
	switch {
	case errors.Is(err, sql.ErrNoRows):
		created = true
		if err := t.auditSharing(nil, row); err != nil {
			return false, err
		}
		err = t.queryRow(`INSERT INTO records (`+recordInsertCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, `+
			t.s.jsonParam("$10")+`, $11, $12) RETURNING pk`,
			row.typ, row.id, row.owner, row.date, row.dkey, row.parentType, row.parentID, row.teams, row.creator,
			row.attributes, toMicros(t.now), t.rev).Scan(&pk)
		if err != nil {
			return false, fmt.Errorf("insert record: %w", err)
		}
		if t.s.dialect.name() == "sqlite" {
			if err := t.writeSearch(nil, []searchEntry{{pk, row.searchColumns()}}); err != nil {
				return false, err
			}
		}
	case err != nil:
		return false, fmt.Errorf("read record: %w", err)
	default:
		if err := t.auditSharing(&head, row); err != nil {
			return false, err
		}
		if _, err := t.exec(`UPDATE records SET owner = $1, date = $2, dkey = $3, parent_type = $4, parent_id = $5, `+
			`teams = $6, creator = $7, attributes = `+t.s.jsonParam("$8")+`, updated_at = $9, revision = $10 WHERE pk = $11`,
			row.owner, row.date, row.dkey, row.parentType, row.parentID, row.teams, row.creator, row.attributes,
			toMicros(t.now), t.rev, pk); err != nil {
			return false, fmt.Errorf("update record: %w", err)
		}
		if t.s.dialect.name() == "sqlite" {
			if err := t.writeSearch([]int64{pk}, []searchEntry{{pk, row.searchColumns()}}); err != nil {
				return false, err
			}
		}
		if hadTeams {
			if _, err := t.exec(`DELETE FROM record_teams WHERE record_pk = $1`, pk); err != nil {
				return false, fmt.Errorf("replace teams: %w", err)
			}
		}
	}
	for _, te := range row.entries {
		if _, err := t.exec(`INSERT INTO record_teams (record_pk, principal, access) VALUES ($1, $2, $3)`,
			pk, te.Principal, te.Access); err != nil {
			return false, fmt.Errorf("insert teams: %w", err)
		}
	}
	return created, nil
}

// FirstRecordNumber is the number of a type's first numbered record.
const FirstRecordNumber = 10001

// maxNumberSkips bounds how many numbers CreateNumberedRecord skips
// because a record (an ERP import) already has that id.
const maxNumberSkips = 10000

// CreateNumberedRecord creates r as the next record of its type's number
// sequence (store.RecordStore). Inside the write transaction, after
// w.Check, it takes the next number (FirstRecordNumber first), skipping
// numbers whose id a record already has, sets r.ID to n.Prefix and the
// number and r.Attributes[n.Field] to the same id, and inserts r. Writers
// are serialized by the revision row, so two creates never get one
// number; a create that fails leaves its number unused.
func (s *Store) CreateNumberedRecord(ctx context.Context, w store.Write, r *access.Record, n store.Numbering) (int64, error) {
	var now time.Time
	id := r.ID
	rev, err := s.write(ctx, w, func(t *wtx) error {
		now = t.now
		for range maxNumberSkips {
			var last int64
			if err := t.queryRow(`INSERT INTO record_numbers (type, last) VALUES ($1, $2) `+
				`ON CONFLICT (type) DO UPDATE SET last = record_numbers.last + 1 RETURNING last`,
				r.Type, FirstRecordNumber).Scan(&last); err != nil {
				return fmt.Errorf("next record number: %w", err)
			}
			id = n.Prefix + strconv.FormatInt(last, 10)
			taken, err := t.exists(`SELECT 1 FROM records WHERE type = $1 AND id = $2`, r.Type, id)
			if err != nil {
				return fmt.Errorf("next record number: %w", err)
			}
			if !taken {
				break
			}
			id = ""
		}
		if id == "" {
			return fmt.Errorf("next record number: %d numbers in a row are taken", maxNumberSkips)
		}
		next := *r
		next.ID = id
		if n.Field != "" {
			next.Attributes = make(map[string]any, len(r.Attributes)+1)
			for k, v := range r.Attributes {
				next.Attributes[k] = v
			}
			next.Attributes[n.Field] = id
		}
		row, err := s.encodeRecord(&next, false)
		if err != nil {
			return err
		}
		_, err = t.putRow(&row)
		if err == nil {
			*r = next
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	r.UpdatedAt, r.Revision = now, rev
	return rev, nil
}

// DeleteRecord deletes a record and its team entries. Deleting a record
// that does not exist is a no-op (as in a batch, DESIGN.md §5.10) that
// returns the current revision without incrementing it.
func (s *Store) DeleteRecord(ctx context.Context, w store.Write, typ, id string) (int64, error) {
	return s.write(ctx, w, func(t *wtx) error {
		t.recordChanged(typ, id)
		// Team rows go first and explicitly: a reused rowid must never
		// inherit another record's team entries, foreign keys on or off.
		if _, err := t.exec(`DELETE FROM record_teams WHERE record_pk IN (SELECT pk FROM records WHERE type = $1 AND id = $2)`, typ, id); err != nil {
			return fmt.Errorf("delete record teams: %w", err)
		}
		var h storedSharing
		var pk int64
		err := t.queryRow(`DELETE FROM records WHERE type = $1 AND id = $2 RETURNING pk, owner, parent_type, parent_id, teams`, typ, id).Scan(append([]any{&pk}, h.dest()...)...)
		if errors.Is(err, sql.ErrNoRows) {
			return errNoop
		}
		if err != nil {
			return fmt.Errorf("delete record: %w", err)
		}
		if t.s.dialect.name() == "sqlite" {
			if err := t.deleteSearch([]int64{pk}); err != nil {
				return err
			}
		}
		return t.auditDelete(typ, id, &h)
	})
}

// jsonParam renders placeholder ph as a JSON document for the attributes
// column: JSONB on PostgreSQL (cast from text), TEXT on SQLite.
func (s *Store) jsonParam(ph string) string { return s.dialect.jsonParam(ph) }

// accountHasRecords reports whether any record is owned by account: one of
// the blockers of DeleteAccount. It skips through the distinct types (a
// loose scan of records_type_id, a handful of seeks) and asks
// records_owner about each (type, owner) pair: on PostgreSQL owner is that
// index's second column (SQLite's leads with it, migration 0016).
func (t *wtx) accountHasRecords(account string) (bool, error) {
	return t.exists(`WITH RECURSIVE types (type) AS (
    SELECT (SELECT MIN(type) FROM records)
    UNION ALL
    SELECT (SELECT MIN(r.type) FROM records r WHERE r.type > types.type) FROM types WHERE types.type IS NOT NULL
)
SELECT 1 FROM types WHERE types.type IS NOT NULL
AND EXISTS (SELECT 1 FROM records r WHERE r.type = types.type AND r.owner = $1) LIMIT 1`, account)
}

// attributesOptions encode attributes with github.com/go-json-experiment/
// json: map keys in map order (the stored document's key order carries no
// meaning; PostgreSQL's JSONB does not keep it either), HTML characters and
// U+2028/U+2029 as they are (encoding/json's output but for those
// escapes), and invalid UTF-8 refused: decoded JSON never holds it.
var attributesOptions = jsonv2.JoinOptions(jsontext.EscapeForHTML(false), jsontext.EscapeForJS(false))

// attributeBuffers are the buffers attributes are encoded into.
var attributeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeAttributes returns the JSON text of attributes: jsonenc's
// for the usual values, jsonv2 for the rest (and its error).
func encodeAttributes(attrs map[string]any) (string, error) {
	buf := attributeBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 4*access.MaxAttributesSize {
			buf.Reset()
			attributeBuffers.Put(buf)
		}
	}()
	if b, ok := jsonenc.AppendObject(buf.AvailableBuffer(), attrs); ok {
		buf.Write(b) // keeps the grown buffer for the pool
		return string(b), nil
	}
	buf.Reset()
	if err := jsonv2.MarshalWrite(buf, attrs, attributesOptions); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// marshalledSize returns the length json.Marshal gives the value
// encodeAttributes encoded as b, the measure of access.MaxAttributesSize:
// the same but for the HTML characters <, > and & and the separators
// U+2028 and U+2029, which json.Marshal escapes (\u003c, 6 bytes for 1;
// \u2028, 6 for 3).
func marshalledSize(b string) int {
	n := len(b)
	n += 5 * (strings.Count(b, "<") + strings.Count(b, ">") + strings.Count(b, "&"))
	n += 3 * (strings.Count(b, "\u2028") + strings.Count(b, "\u2029"))
	return n
}
