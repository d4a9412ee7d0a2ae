package sqlstore

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/jsonenc"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// listDialect is the part of dialect that renders the record queries
// (list.go, records.go, batch.go): SQL fragments and plan hints that
// differ between SQLite and PostgreSQL.
type listDialect interface {
	// largeAccountSet is the number of accounts above which a list scans
	// the type's sort index instead of seeking each account (list.go).
	largeAccountSet() int
	// in renders "col IN vals" for a list of strings into b.
	in(b *sqlb, col string, vals []string) string
	// recordCols is the select list scanRecord reads (alias r).
	recordCols() string
	// recordAttrs is the attributes column of recordCols.
	recordAttrs() string
	// attrExpr extracts attribute f of alias a as a value of its declared
	// type, NULL when missing or of another JSON type, so filters and sorts
	// mean the same on both databases: strings and dates as text (bytewise
	// order), numbers as floating point, booleans as 0/1.
	attrExpr(a string, f policy.Field) string
	// attrPrefilter renders a cheap condition that every record whose
	// attribute f (of alias a) equals one of vals satisfies, to test
	// before attrExpr's exact one; "" when it has none for f and vals.
	attrPrefilter(b *sqlb, a string, f policy.Field, vals []any) string
	// contains renders "expr matches the LIKE pattern ph" (escape
	// character backslash), case-insensitively for Latin letters.
	contains(expr, ph string) string
	// ownedFrom, teamsFrom and sharedFrom are the FROM clauses of the
	// owner, team and sharing branches of a list; scanFrom that of the
	// large-set scan on the sort's index idx ("" for none). teamsFrom
	// joins team entries t to their records r (the aliases given), for
	// the lists, the parents' sets and the preview's branches alike.
	ownedFrom(r string) string
	teamsFrom(t, r string) string
	sharedFrom() string
	scanFrom(idx string) string
	// perAccountTopN reports whether the owner branch over accounts
	// accounts in sort kind is rendered as one LATERAL top-N per account.
	perAccountTopN(accounts, kind int) bool
	// teamEntrySet reports whether the preview's filter may read a
	// predicate's team entries as one set (pk IN (SELECT record_pk ...)).
	// SQLite builds an in-memory index of any size once per statement.
	// PostgreSQL hashes such a SubPlan under an OR only while it fits in
	// work_mem (about 262,000 entries at the default 4 MB) and otherwise
	// rescans it for every row, so it keeps the per-record probe.
	teamEntrySet() bool
	// pageByPk reports whether a page merged from several branches is
	// fetched back by pk (each branch then selects r.pk too) rather than
	// by (type, id). SQLite: every index carries the rowid, so the
	// branches stay covering and each row is one table seek instead of an
	// index seek and a table seek. PostgreSQL: pk is in none of the list
	// indexes, so selecting it would turn their index-only scans into
	// heap reads; the (type, id) index costs the same as pk's.
	pageByPk() bool
	// jsonParam renders placeholder ph as a JSON document for the
	// attributes column.
	jsonParam(ph string) string
	// getRecordSQL is GetRecord's query ($1 type, $2 id), with heads
	// GetRecordHeads' (an empty attributes object).
	getRecordSQL(heads bool) string
	// getRecordsSQL is GetRecords' (GetRecordHeads') prepared query for n
	// ids of one type (2 <= n <= getRecordsChunk) and getRecordsArgs
	// its arguments.
	getRecordsSQL(n int, heads bool) string
	getRecordsArgs(typ string, ids []string) []any
	// upsertRecords writes rows in the write transaction t.
	upsertRecords(t *wtx, rows []recordRow) error
}

// sqliteInlineList is the longest list rendered as IN ($1, $2, ...) on
// SQLite; a longer one is one JSON parameter read through json_each, which
// SQLite turns into an ephemeral index.
const sqliteInlineList = 100

// recordColsList is recordCols with the attributes column given.
func recordColsList(attrs string) string {
	return "r.type, r.id, r.owner, r.date, r.parent_type, r.parent_id, r.teams, r.creator, " + attrs + ", r.updated_at, r.revision"
}

// The SQLite list SQL pins its indexes (INDEXED BY, CROSS JOIN): without
// fresh statistics the planner would otherwise pick plans whose deeper
// pages degrade to tens of milliseconds (PLANS.md).

func (d *sqliteDialect) largeAccountSet() int { return sqliteLargeAccountSet }

// jsonStrings is vals as a JSON array of strings (json.Marshal's
// replacement of invalid UTF-8 where jsonenc refuses it).
func jsonStrings(vals []string) string {
	if b, ok := jsonenc.AppendStrings(make([]byte, 0, 16*len(vals)), vals); ok {
		return string(b)
	}
	js, _ := json.Marshal(vals)
	return string(js)
}

// in renders an inline list, or json_each of one JSON parameter for a
// long one.
func (d *sqliteDialect) in(b *sqlb, col string, vals []string) string {
	switch {
	case len(vals) == 1:
		return col + " = " + b.p(vals[0])
	case len(vals) > sqliteInlineList:
		return col + " IN (SELECT value FROM json_each(" + b.p(jsonStrings(vals)) + "))"
	}
	ph := make([]string, len(vals))
	for i, v := range vals {
		ph[i] = b.p(v)
	}
	return col + " IN (" + strings.Join(ph, ", ") + ")"
}

func (d *sqliteDialect) recordCols() string { return recordColsList(d.recordAttrs()) }

func (d *sqliteDialect) recordAttrs() string { return "r.attributes" }

func (d *sqliteDialect) attrExpr(a string, f policy.Field) string {
	path := `'$."` + f.Name + `"'`
	switch f.Type {
	case policy.FieldNumber:
		return "(CASE WHEN json_type(" + a + ".attributes, " + path + ") IN ('integer', 'real') THEN json_extract(" + a + ".attributes, " + path + ") END)"
	case policy.FieldBool:
		return "(CASE json_type(" + a + ".attributes, " + path + ") WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"
	}
	return "(CASE WHEN json_type(" + a + ".attributes, " + path + ") = 'text' THEN json_extract(" + a + ".attributes, " + path + ") END)"
}

// attrPrefilter is a substring search for `"name":"value"` in the stored
// JSON text, which is compact: every attribute document is written by
// jsonenc or jsonv2 (encodeAttributes), before them by encoding/json,
// all without whitespace. A string attribute at the top level that equals
// value therefore appears as exactly those bytes, provided name and value
// are printable ASCII without ", \, <, > and & (which the encoders may
// escape, each its own way). A nested "name" or a value inside another
// string may match too: the exact json_extract still decides. The search
// costs a memory scan of the row's text where json_type and json_extract
// parse the document, which for a filter that admits one row in six
// (list-filtered) was most of the page's CPU.
func (d *sqliteDialect) attrPrefilter(b *sqlb, a string, f policy.Field, vals []any) string {
	if f.Type != policy.FieldString || !plainJSON(f.Name) {
		return ""
	}
	ors := make([]string, len(vals))
	for i, v := range vals {
		s, ok := v.(string)
		if !ok || !plainJSON(s) {
			return ""
		}
		ors[i] = "instr(" + a + ".attributes, " + b.p(`"`+f.Name+`":"`+s+`"`) + ") > 0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// plainJSON reports whether every JSON encoder writes s verbatim inside a
// string: printable ASCII but ", \, <, > and &.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// contains is LIKE, which SQLite compares case-insensitively for ASCII.
func (d *sqliteDialect) contains(expr, ph string) string {
	return expr + " LIKE " + ph + ` ESCAPE '\'`
}

// ownedFrom forces the owner index: with a key account in the set,
// ANALYZE statistics can tempt the planner into scanning records_date
// (which also holds owner) for the first page.
func (d *sqliteDialect) ownedFrom(r string) string {
	return "records " + r + " INDEXED BY records_owner"
}

// teamsFrom forces the join order (CROSS JOIN keeps record_teams outside):
// without statistics the planner would otherwise scan every record of the
// type in date order and probe its team entries.
func (d *sqliteDialect) teamsFrom(t, r string) string {
	return "record_teams " + t + " INDEXED BY record_teams_principal CROSS JOIN records " + r + " ON " + r + ".pk = " + t + ".record_pk"
}

func (d *sqliteDialect) sharedFrom() string { return "records r INDEXED BY records_parent" }

func (d *sqliteDialect) scanFrom(idx string) string {
	if idx == "" {
		return "records r"
	}
	return "records r INDEXED BY " + idx
}

func (d *sqliteDialect) perAccountTopN(int, int) bool { return false }

func (d *sqliteDialect) teamEntrySet() bool { return true }

func (d *sqliteDialect) pageByPk() bool { return true }

func (d *sqliteDialect) jsonParam(ph string) string { return ph }

func (d *sqliteDialect) getRecordSQL(heads bool) string { return sqliteGetRecordSQL[b2i(heads)] }

func (d *sqliteDialect) getRecordsSQL(n int, heads bool) string {
	return sqliteGetRecordsSQL[b2i(heads)][min(n, getRecordsPrepared+1)]
}

func (d *sqliteDialect) getRecordsArgs(typ string, ids []string) []any {
	if len(ids) > getRecordsPrepared {
		return []any{typ, jsonStrings(ids)}
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, typ)
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// upsertRecords looks the keys up first, inserts the new records with
// multi-row INSERT OR IGNORE and updates the existing ones by pk.
func (d *sqliteDialect) upsertRecords(t *wtx, rows []recordRow) error { return t.sqliteUpsert(rows) }

// b2i indexes the statements of GetRecords (0) and GetRecordHeads (1).
func b2i(heads bool) int {
	if heads {
		return 1
	}
	return 0
}

var (
	sqliteGetRecordSQL = [2]string{
		"SELECT " + recordColsList("r.attributes") + " FROM records r WHERE r.type = $1 AND r.id = $2",
		"SELECT " + recordColsList("'{}'") + " FROM records r WHERE r.type = $1 AND r.id = $2",
	}
	// sqliteGetRecordsSQL[h][n] has n placeholders for 2 <= n <=
	// getRecordsPrepared, and [h][getRecordsPrepared+1] one JSON array
	// for more (a lookup in the (type, id) index per element).
	sqliteGetRecordsSQL = func() (out [2][getRecordsPrepared + 2]string) {
		for h, attrs := range []string{"r.attributes", "'{}'"} {
			for n := 2; n <= getRecordsPrepared; n++ {
				in := "$2"
				for i := 3; i <= n+1; i++ {
					in += ", $" + strconv.Itoa(i)
				}
				out[h][n] = "SELECT " + recordColsList(attrs) + " FROM records r WHERE r.type = $1 AND r.id IN (" + in + ")"
			}
			out[h][getRecordsPrepared+1] = "SELECT " + recordColsList(attrs) + " FROM records r WHERE r.type = $1 AND r.id IN (SELECT value FROM json_each($2))"
		}
		return out
	}()
)

func (d *postgresDialect) largeAccountSet() int { return postgresLargeAccountSet }

// in renders = ANY of one text array.
func (d *postgresDialect) in(b *sqlb, col string, vals []string) string {
	if len(vals) == 1 {
		return col + " = " + b.p(vals[0])
	}
	return col + " = ANY(" + b.p(vals) + "::text[])"
}

func (d *postgresDialect) recordCols() string { return recordColsList(d.recordAttrs()) }

func (d *postgresDialect) recordAttrs() string { return "r.attributes::text" }

// attrPrefilter has nothing to add: JSONB is parsed already.
func (d *postgresDialect) attrPrefilter(*sqlb, string, policy.Field, []any) string { return "" }

func (d *postgresDialect) attrExpr(a string, f policy.Field) string {
	v := a + ".attributes->'" + f.Name + "'"
	switch f.Type {
	case policy.FieldNumber:
		return "(CASE WHEN jsonb_typeof(" + v + ") = 'number' THEN (" + a + ".attributes->>'" + f.Name + "')::float8 END)"
	case policy.FieldBool:
		return "(CASE " + v + " WHEN 'true'::jsonb THEN 1 WHEN 'false'::jsonb THEN 0 END)"
	}
	return "(CASE WHEN jsonb_typeof(" + v + ") = 'string' THEN (" + a + ".attributes->>'" + f.Name + "') COLLATE \"C\" END)"
}

func (d *postgresDialect) contains(expr, ph string) string {
	return expr + " ILIKE " + ph + ` ESCAPE '\'`
}

func (d *postgresDialect) ownedFrom(r string) string { return "records " + r }

func (d *postgresDialect) teamsFrom(t, r string) string {
	return "record_teams " + t + " JOIN records " + r + " ON " + r + ".pk = " + t + ".record_pk"
}

func (d *postgresDialect) sharedFrom() string { return "records r" }

func (d *postgresDialect) scanFrom(string) string { return "records r" }

func (d *postgresDialect) pageByPk() bool { return false }

func (d *postgresDialect) teamEntrySet() bool { return false }

// perAccountTopN is true for a date sort over several accounts: the
// per-account top-N merged by the sort key.
func (d *postgresDialect) perAccountTopN(accounts, kind int) bool {
	return accounts > 1 && kind == sortDate
}

func (d *postgresDialect) jsonParam(ph string) string { return ph + "::jsonb" }

func (d *postgresDialect) getRecordSQL(heads bool) string { return postgresGetRecordSQL[b2i(heads)] }

func (d *postgresDialect) getRecordsSQL(_ int, heads bool) string {
	return postgresGetRecordsSQL[b2i(heads)]
}

func (d *postgresDialect) getRecordsArgs(typ string, ids []string) []any { return []any{typ, ids} }

// upsertRecords takes multi-row INSERT ... ON CONFLICT DO UPDATE
// statements.
func (d *postgresDialect) upsertRecords(t *wtx, rows []recordRow) error {
	return t.postgresUpsert(rows)
}

var (
	postgresGetRecordSQL = [2]string{
		"SELECT " + recordColsList("r.attributes::text") + " FROM records r WHERE r.type = $1 AND r.id = $2",
		"SELECT " + recordColsList("'{}'") + " FROM records r WHERE r.type = $1 AND r.id = $2",
	}
	postgresGetRecordsSQL = [2]string{
		"SELECT " + recordColsList("r.attributes::text") + " FROM records r WHERE r.type = $1 AND r.id = ANY($2::text[])",
		"SELECT " + recordColsList("'{}'") + " FROM records r WHERE r.type = $1 AND r.id = ANY($2::text[])",
	}
)
