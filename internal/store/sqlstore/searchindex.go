package sqlstore

// This file serves the list search (store.RecordQuery.Search) from a
// trigram index (migrations 0012 and 0014): FTS5 with the trigram
// tokenizer on SQLite (without positions, written by the store itself), a
// pg_trgm GIN index on PostgreSQL, both over each record's id and every
// string-valued attribute, keyed by the records' row key.
//
// The index is a candidate generator only. The list query keeps the
// search predicate of list.go (LIKE/ILIKE over the id and the fields the
// caller names, with escaping) as the verifier, so which fields match,
// the escaping and the case rules are exactly those of the scan; the index
// merely narrows the rows that predicate is evaluated on.
//
// Plan choice (PLANS.md "Search"): the store first reads the row keys of
// the candidates, up to searchCandidateCap. With no more than that (a
// selective term such as an order number) the page is read from the
// candidates: their rows by key, the access predicate rendered as a filter
// (as in the large-account-set plan), the filters and the search predicate,
// sorted and limited. With more (a common term), or for a term the index
// cannot serve (shorter than three characters), the list takes its usual
// plan with the search predicate as a filter, which in sort order stops at
// the page limit when matches are common.

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// searchCandidateCap is the largest candidate set read from the index:
// reading a candidate's row and testing the predicate costs a few
// microseconds, so 2,000 candidates stay within a few milliseconds, while
// a term with more candidates is common enough that a scan in sort order
// finds a page of matches sooner.
const searchCandidateCap = 2000

// searchDialect is the part of dialect that reads the search index.
type searchDialect interface {
	// searchCandidatesSQL renders the query of the row keys of the records
	// of type typ whose id or string attributes may contain text (a
	// superset of the verifier's matches); ok is false when the index
	// cannot serve text.
	searchCandidatesSQL(typ, text string) (query string, args []any, ok bool)
	// pkIn renders "col is one of pks" into b.
	pkIn(b *sqlb, col string, pks []int64) string
	// candidatesFrom is the FROM clause of the candidate plan: rows read
	// by their keys.
	candidatesFrom() string
}

// searchSet is the outcome of the candidate step: the row keys of every
// record the search can match (possibly none).
type searchSet struct {
	pks []int64
}

// searchTerm returns the query's search text as the verifier sees it ("" for
// no search).
func searchTerm(q store.RecordQuery) string {
	if q.Search == nil {
		return ""
	}
	return strings.TrimSpace(q.Search.Text)
}

// likePattern is the verifier's LIKE pattern of text: contains, with the
// wildcards escaped.
func likePattern(text string) string {
	return "%" + likeEscaper.Replace(text) + "%"
}

// searchCandidates reads the candidates of q's search from the index, or
// returns nil when the list should take its usual plan: no search, a term
// the index cannot serve, more than the cap of candidates, or the index
// switched off (s.searchCap < 0, for tests).
func (s *Store) searchCandidates(ctx context.Context, q store.RecordQuery) (*searchSet, error) {
	text := searchTerm(q)
	limit := s.searchCap
	if limit == 0 {
		limit = searchCandidateCap
	}
	if text == "" || limit < 0 || q.Parent != nil {
		return nil, nil
	}
	// Records whose entries are still in the backlog are not among the
	// index's candidates: the scan plan serves the search until the
	// indexer has written them (searchbacklog.go).
	if pending, err := s.searchPending(ctx); err != nil || pending {
		return nil, err
	}
	// Every trigram of the term costs a read of its whole posting list,
	// and the common ones (the "SO0" of every order number) cost most: the
	// term's last searchWindow characters, a substring and so a superset
	// of its matches, are tried first (numbers differ at their ends), the
	// whole term only when they propose more than the cap.
	r := []rune(text)
	tries := []string{text}
	if len(r) > searchWindow {
		tries = []string{string(r[len(r)-searchWindow:]), text}
	}
	for _, term := range tries {
		query, args, ok := s.dialect.searchCandidatesSQL(q.Type, term)
		if !ok {
			continue
		}
		set, err := s.readCandidates(ctx, limit, query, args)
		if set != nil || err != nil {
			return set, err
		}
	}
	return nil, nil // a common term: the scan serves it better
}

// searchWindow is the length of the term's tail tried first: six
// characters make about 200,000 distinct trigram triples, selective enough
// for a number among millions of records.
const searchWindow = 6

// readCandidates runs the candidate query; nil when it proposes more than
// limit rows. The query asks for one row more than limit, so that a common
// term costs the database no more than that (PostgreSQL would otherwise
// send every match to a result set closed early).
func (s *Store) readCandidates(ctx context.Context, limit int, query string, args []any) (*searchSet, error) {
	rows, err := s.queryList(ctx, query+" LIMIT "+strconv.Itoa(limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	defer rows.Close()
	set := &searchSet{pks: []int64{}}
	for rows.Next() {
		if len(set.pks) == limit {
			return nil, nil
		}
		var pk int64
		if err := rows.Scan(&pk); err != nil {
			return nil, fmt.Errorf("search index: %w", err)
		}
		set.pks = append(set.pks, pk)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search index: %w", err)
	}
	return set, nil
}

// candidates renders the candidate plan: the candidates' rows by key, with
// predicate p as a filter on each (the scan plan's rendering) and the
// query's filters, the search predicate among them, sorted and limited.
func (lb *listBuilder) candidates(p *access.Predicate, set *searchSet) string {
	conds := []string{lb.d.pkIn(&lb.sqlb, "r.pk", set.pks)}
	if !p.All {
		conds = append(conds, lb.filter(p, "r", 0))
	}
	return lb.scanPart(part{from: lb.d.candidatesFrom(), conds: conds})
}

// searchCandidatesSQL matches the rows that hold every trigram of the
// term: an FTS5 AND of one-trigram strings (the index keeps no positions,
// migration 0014, so a phrase cannot be asked for), folded by the trigram
// tokenizer for all of Unicode, a superset of LIKE's ASCII folding. A row
// with all of them is a candidate even if they are not adjacent; the
// verifier drops it. It needs three characters. The FTS table holds every
// type: the cap counts candidates of all types.
func (d *sqliteDialect) searchCandidatesSQL(_, text string) (string, []any, bool) {
	r := []rune(text)
	if len(r) < 3 {
		return "", nil, false
	}
	var b strings.Builder
	seen := make(map[string]bool, len(r)-2)
	for i := 0; i+3 <= len(r); i++ {
		tri := string(r[i : i+3])
		if seen[tri] {
			continue
		}
		seen[tri] = true
		if b.Len() > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(`"` + strings.ReplaceAll(tri, `"`, `""`) + `"`)
	}
	return `SELECT rowid FROM record_search WHERE record_search MATCH $1`, []any{b.String()}, true
}

// The SQLite index's entries are written and deleted by the store, in the
// transaction that writes the records (migration 0014 has no triggers):
// putRow and DeleteRecord one record's, upsertRecords a whole batch's or
// import chunk's with multi-row INSERTs of searchInsertRows entries, and
// deleteRecords a batch's with one DELETE. FTS5 turns what one statement
// adds into one segment (it flushes at every statement savepoint), and a
// batch of small statements made as many small segments to merge. (One
// statement of json_each with ->> per column cost more than the two
// segments it saves.) An import of more than one chunk and LoadRecords
// stage their entries instead and write them with one statement per
// transaction (stageSearch).

// searchSep separates the values the last column of an entry holds; a
// match across two values is a false candidate the verifier drops.
const searchSep = "\x1f"

// searchColumns is the number of columns of record_search (migration
// 0014): the id, then one string value each, the rest joined in the
// last. The trigram tokenizer makes trigrams within a column, so values
// in columns of their own add no trigrams across their boundaries, a
// third of a joined body's.
const searchColumns = 8

// searchValues are the columns of a record's index entry: its id and its
// distinct non-empty string-valued top-level attributes (in map order:
// the order only decides which values share the last column), as the
// migration's backfill computes them from the stored JSON (which keeps
// duplicates: they add nothing to an index without positions).
// Attributes are valid UTF-8 (their encoding refuses anything else), as
// the stored JSON holds them.
func searchValues(id string, attrs map[string]any) []string {
	c := newSearchCols(id)
	for _, v := range attrs {
		if s, ok := v.(string); ok {
			c.add(s)
		}
	}
	return c.columns()
}

// searchCols builds an entry's columns from its id and string values
// (searchValues; storedEntries from the stored JSON).
type searchCols struct{ vals, rest []string }

func newSearchCols(id string) searchCols {
	vals := make([]string, 1, searchColumns)
	vals[0] = id
	return searchCols{vals: vals}
}

// add takes one top-level string value.
func (c *searchCols) add(s string) {
	if s == "" || (len(c.rest) == 0 && slices.Contains(c.vals, s)) {
		return
	}
	if len(c.vals) < searchColumns-1 {
		c.vals = append(c.vals, s)
	} else {
		c.rest = append(c.rest, s)
	}
}

// columns returns the entry's columns.
func (c *searchCols) columns() []string {
	if len(c.rest) > 0 {
		return append(c.vals, strings.Join(c.rest, searchSep))
	}
	return c.vals
}

// sqliteSearchColumnsSQL computes searchValues' columns in SQL from a row
// of records aliased r (the fallback of writeSearch; migration 0014's
// backfill has the same expressions).
var sqliteSearchColumnsSQL = func() string {
	cols := []string{"r.id"}
	for k := range searchColumns - 2 {
		cols = append(cols, fmt.Sprintf("(SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT 1 OFFSET %d)", k))
	}
	cols = append(cols, fmt.Sprintf("(SELECT group_concat(value, char(31)) FROM (SELECT value FROM json_each(r.attributes) WHERE type = 'text' LIMIT -1 OFFSET %d))", searchColumns-2))
	return strings.Join(cols, ", ")
}()

// searchColumnNames lists record_search's columns.
var searchColumnNames = func() string {
	names := make([]string, searchColumns)
	for k := range names {
		names[k] = "v" + strconv.Itoa(k)
	}
	return strings.Join(names, ", ")
}()

// searchInsertRows is the most entries one INSERT writes: searchColumns
// + 1 parameters a row within SQLite's 32,766. Each statement makes a
// segment (see above), so a batch of 10,000 makes three.
const searchInsertRows = 32766 / (searchColumns + 1)

// searchInsertSQL is the multi-row INSERT of n entries.
func searchInsertSQL(n int) string {
	return multiRowSQL("INSERT INTO record_search (rowid, "+searchColumnNames+") VALUES ", searchColumns+1, n)
}

// searchStageSQL is searchInsertSQL into the stage (stageSearch).
func searchStageSQL(n int) string {
	return multiRowSQL("INSERT INTO temp.record_search_stage (pk, "+searchColumnNames+") VALUES ", searchColumns+1, n)
}

// stageSearch makes the transaction write the index entries of the
// records it writes from now on into a temporary table instead of
// record_search, until flushSearchStage moves them there with one
// statement (SQLite only): the bulk path of a large import and of
// LoadRecords. FTS5 turns each statement's entries into a segment and
// merges the segments again and again as they accumulate (13 % of a
// million-record import's CPU with an INSERT every 3,640 entries); one
// INSERT ... SELECT with a large hashsize makes a few large segments
// instead. The stage is plain rows in key order, part of the
// transaction: a failed import rolls it back with the rest.
func (t *wtx) stageSearch() error {
	if _, err := t.tx.ExecContext(t.ctx, `CREATE TEMP TABLE record_search_stage (pk INTEGER PRIMARY KEY, `+searchColumnNames+`)`); err != nil {
		return fmt.Errorf("search index: stage: %w", err)
	}
	t.searchStaged = true
	return nil
}

// searchStageHashSize is record_search's FTS5 hashsize while
// flushSearchStage writes the staged entries: the pending terms FTS5
// buffers before it writes them as a segment (default 1 MB, a few
// thousand records' trigrams).
var searchStageHashSize = 256 << 20

// ftsDefaultHashSize is FTS5's default hashsize (FTS5_DEFAULT_HASHSIZE).
const ftsDefaultHashSize = 1 << 20

// flushSearchStage writes the staged entries into record_search with one
// statement, with the hashsize raised for it and put back as the
// configuration held it (the value it had, or none), and drops the stage.
func (t *wtx) flushSearchStage() error {
	if !t.searchStaged {
		return nil
	}
	var prev sql.NullString
	if err := t.tx.QueryRowContext(t.ctx, `SELECT v FROM record_search_config WHERE k = 'hashsize'`).Scan(&prev); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("search index: configuration: %w", err)
	}
	if err := t.searchHashSize(searchStageHashSize); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO record_search (rowid, `+searchColumnNames+`) SELECT pk, `+searchColumnNames+` FROM temp.record_search_stage ORDER BY pk`); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	// Back to what the configuration held. Setting a value makes every
	// connection, this one included, reload the configuration; the
	// default first when there was none.
	var size any = ftsDefaultHashSize
	if prev.Valid {
		size = prev.String
	}
	if err := t.searchHashSize(size); err != nil {
		return err
	}
	if !prev.Valid {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM record_search_config WHERE k = 'hashsize'`); err != nil {
			return fmt.Errorf("search index: configuration: %w", err)
		}
	}
	if _, err := t.tx.ExecContext(t.ctx, `DROP TABLE temp.record_search_stage`); err != nil {
		return fmt.Errorf("search index: stage: %w", err)
	}
	t.searchStaged = false
	return nil
}

// searchHashSize sets record_search's FTS5 hashsize.
func (t *wtx) searchHashSize(size any) error {
	if _, err := t.tx.ExecContext(t.ctx, `INSERT INTO record_search (record_search, rank) VALUES ('hashsize', ?)`, size); err != nil {
		return fmt.Errorf("search index: hashsize: %w", err)
	}
	return nil
}

// searchEntry is a record's index entry: its row key and columns.
type searchEntry struct {
	pk   int64
	vals []string
}

// writeSearch adds the index entries of records written in this
// transaction with as few statements as it can (SQLite only), after
// deleting those of the keys in replaced (records updated in place).
func (t *wtx) writeSearch(replaced []int64, entries []searchEntry) error {
	if err := t.deleteSearch(replaced); err != nil {
		return err
	}
	entries, err := outsideBacklog(t, entries, func(e searchEntry) int64 { return e.pk }) // the indexer writes those
	if err != nil {
		return err
	}
	// In key order: FTS5 also flushes whenever a key is lower than the
	// one before.
	slices.SortFunc(entries, func(a, b searchEntry) int { return cmp.Compare(a.pk, b.pk) })
	args := make([]any, 0, (searchColumns+1)*min(len(entries), searchInsertRows))
	for len(entries) > 0 {
		chunk := entries[:min(len(entries), searchInsertRows)]
		entries = entries[len(chunk):]
		args = args[:0]
		for _, e := range chunk {
			args = append(args, e.pk)
			for k := range searchColumns {
				if k < len(e.vals) {
					args = append(args, e.vals[k])
				} else {
					args = append(args, nil)
				}
			}
		}
		q := searchInsertSQL(len(chunk))
		if t.searchStaged {
			q = searchStageSQL(len(chunk))
		}
		// Through t.q: the full chunks of an import share one prepared
		// statement.
		if _, err := t.q.ExecContext(t.ctx, q, args...); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
	}
	return nil
}

// deleteSearch deletes the index entries of pks with one statement
// (SQLite only): records deleted or about to be rewritten in this
// transaction. A key may come back for a new record (SQLite reuses the
// largest key once it is deleted), so the entries go in the same
// transaction as the rows.
func (t *wtx) deleteSearch(pks []int64) error {
	pks, err := outsideBacklog(t, pks, func(pk int64) int64 { return pk }) // those have no entries
	if err != nil || len(pks) == 0 {
		return err
	}
	js, _ := json.Marshal(pks)
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM record_search WHERE rowid IN (SELECT value FROM json_each(?))`, string(js)); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	if t.searchStaged {
		if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM temp.record_search_stage WHERE pk IN (SELECT value FROM json_each(?))`, string(js)); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
	}
	return nil
}

// writeSearchFrom adds the index entries of the records with a key above
// pk, computed from their stored JSON (the fallback when the keys of the
// rows just inserted are not known).
func (t *wtx) writeSearchFrom(pk int64) error {
	head := `INSERT INTO record_search (rowid, `
	if t.searchStaged {
		head = `INSERT INTO temp.record_search_stage (pk, `
	}
	if _, err := t.tx.ExecContext(t.ctx, head+searchColumnNames+`) SELECT r.pk, `+sqliteSearchColumnsSQL+` FROM records r WHERE r.pk > ?`+
		` AND NOT EXISTS (SELECT 1 FROM search_backlog b WHERE r.pk BETWEEN b.lo AND b.hi)`, pk); err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	return nil
}

// pkIn passes the keys as one JSON parameter.
func (d *sqliteDialect) pkIn(b *sqlb, col string, pks []int64) string {
	js, _ := json.Marshal(pks)
	return col + " IN (SELECT value FROM json_each(" + b.p(string(js)) + "))"
}

// candidatesFrom forbids every index but the rowid, so SQLite reads the
// candidates by key rather than scanning a sort index for the order.
func (d *sqliteDialect) candidatesFrom() string { return "records r NOT INDEXED" }

// searchCandidatesSQL is the verifier's ILIKE pattern of text over the indexed
// expression, which the GIN index serves from the pattern's trigrams
// (pg_trgm extracts them from runs of letters and digits only: a term
// without a run of three would read the whole index, so it takes the
// scan).
func (d *postgresDialect) searchCandidatesSQL(typ, text string) (string, []any, bool) {
	run, best := 0, 0
	for _, c := range text {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	if best < 3 {
		return "", nil, false
	}
	return `SELECT pk FROM records WHERE type = $1 AND record_search_text(id, attributes) ILIKE $2 ESCAPE '\'`,
		[]any{typ, likePattern(text)}, true
}

func (d *postgresDialect) pkIn(b *sqlb, col string, pks []int64) string {
	return col + " = ANY(" + b.p(pks) + "::bigint[])"
}

func (d *postgresDialect) candidatesFrom() string { return "records r" }
