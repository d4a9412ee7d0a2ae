package sqlstore

// This file renders a record list (store.RecordQuery with its access
// predicate) as ONE SQL query: access is enforced in the query, pages are
// keyset-paginated, and nothing is fetched to be filtered in Go.
//
// # Query shapes
//
// A page is the union of branches, each ordered and limited on its own so
// that each can use its index, then ordered and limited again:
//
//   - owner: records whose owner is one of the accounts of an
//     access.AccountClause, with its Cond (dkey >= cutoff OR dkey = '',
//     creator = user). On SQLite "owner IN (...) ORDER BY dkey DESC, id DESC
//     LIMIT n" on records_owner (SQLite stops each IN range at the limit); on
//     PostgreSQL a LATERAL top-N per account over the same index, merged by
//     the sort key (PostgreSQL cannot stop "owner = ANY(...)" ranges early);
//     a single account is a plain ordered index range on both. A cutoff
//     is two branches, the dated rows from it on and the undated rows; a
//     page of a date sort leaves the undated ones to a second query, run
//     only when the dated rows do not fill the page (rangeMode).
//   - team: record_teams rows of the user's accounts ("account:<id>") and of
//     the user ("user:<id>"), joined to their records.
//   - shared: children (parent_type, parent_id) of the set of parent records
//     the parent predicate selects, rendered recursively as a union of the
//     same branches.
//
// With one branch the page is that branch alone (a single account reads 50
// index entries and sorts nothing). With several it is
//
//	SELECT cols FROM (SELECT * FROM (branch 1) UNION SELECT * FROM (branch 2) ...
//	                  ORDER BY seg, sk, id LIMIT n) AS u
//	JOIN records r ON r.type = $1 AND r.id = u.id ORDER BY ...
//
// where each branch selects only (seg, sk, id), from its index where it
// can. On SQLite the branches also select r.pk (every index carries the
// rowid, so they stay covering) and the join is ON r.pk = u.pk: one table
// seek a row instead of a (type, id) index seek and then the table
// (listDialect.pageByPk).
//
// # Large account sets
//
// The cost of the owner branch grows with the number of accounts (one index
// seek per account, ~3 µs on SQLite, ~50 µs per LATERAL probe on
// PostgreSQL), while a scan of records_date in sort order that filters
// owners costs about limit × (records of the type / records visible), which
// falls as the account set grows. Above largeAccountSet accounts (counting
// every clause, and the parents' clauses of sharing rules) the page is one
// scan of the type's sort index with the whole predicate as a filter: owner
// against the account set (a hashed array on PostgreSQL, an ephemeral index
// from json_each on SQLite), team entries and parents through correlated
// EXISTS. See PLANS.md for the numbers behind the thresholds.
//
// # Sort orders and cursors
//
// Sorts are split into segments so that undated records (and records
// without the sorted attribute) come after the others in both directions
// (DESIGN.md §5.8) while every segment stays an index order: -date is one
// segment (dkey DESC, id DESC: '' sorts lowest, hence last); date is dated
// rows by (dkey, id) then undated rows by id; attr.x is rows with a value
// of the declared type by (value, id), then the others by id. The cursor
// carries the segment, sort key and id of the last row, plus a hash of the
// query's shape (type, filters, sort) so that a cursor cannot be replayed
// against another list.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Plan thresholds: a predicate covering more accounts than this is listed
// by scanning the type's sort index and filtering owners instead of
// seeking each account (see the file comment and PLANS.md).
//
// On SQLite one IN range costs ~3 µs, so 1,000 accounts cost ~3 ms before
// any row is read, about what the filtered scan costs for a user who sees
// 1/1000 of all records; beyond that the scan wins and keeps getting
// cheaper. On PostgreSQL a LATERAL probe costs ~40-50 µs, but so does the
// scan's filter per row more than on SQLite (the owner test and EXISTS
// per index entry, then the heap): at medium the scan took 45-69 ms for
// 101 and 266 accounts (2 s with an attribute filter) where the probes
// take 5-18 ms, so PostgreSQL keeps the probes up to 1,000 accounts too
// (PLANS.md, "Threshold").
const (
	sqliteLargeAccountSet   = 1000
	postgresLargeAccountSet = 1000
)

// ListRecords returns one page of records of q.Type that q.Predicate
// admits, filtered and sorted as q asks, and the cursor of the next page
// ("" on the last page). The predicate is rendered into the query (DESIGN.md
// §4): a record the predicate excludes is never read. An attribute filter
// or sort on a field the type does not declare is CodeInvalidField; a
// malformed value, date or sort, and a cursor of another list (other type,
// filters or sort) are CodeInvalid. Whether the caller may filter on a
// restricted field is the server's question (access.Engine.FilterableFields).
func (s *Store) ListRecords(ctx context.Context, q store.RecordQuery) ([]*access.Record, string, error) {
	t := s.policyNow().Type(q.Type)
	if t == nil {
		return nil, "", access.Errorf(access.CodeNotFound, "unknown object type %s", q.Type)
	}
	return s.listRecords(ctx, t, q, s.dialect.largeAccountSet())
}

// listRecords is ListRecords with the plan threshold given (tests force
// either plan with it).
func (s *Store) listRecords(ctx context.Context, t *policy.Type, q store.RecordQuery, threshold int) ([]*access.Record, string, error) {
	set, err := s.searchCandidates(ctx, q)
	if err != nil {
		return nil, "", fmt.Errorf("list records: %w", err)
	}
	lq, err := build(s.dialect, t, q, threshold, nil, set, &s.teams)
	if err != nil {
		return nil, "", err
	}
	out, keys, err := s.page(ctx, lq, q.Raw)
	if err != nil {
		return nil, "", fmt.Errorf("list records: %w", err)
	}
	if lq.deferred && (len(out) <= lq.limit || undatedKey(keys[lq.limit])) {
		// The dated rows do not fill the page: the undated owner ranges
		// are read too, and their rows merged into the page.
		lu, err := buildRanges(s.dialect, t, q, threshold, nil, set, &s.teams, undatedRanges)
		if err != nil {
			return nil, "", err
		}
		more, mkeys, err := s.page(ctx, lu, q.Raw)
		if err != nil {
			return nil, "", fmt.Errorf("list records: %w", err)
		}
		out, keys = mergeUndated(lq.sort, out, keys, more, mkeys, lq.limit+1)
	}
	if len(out) <= lq.limit {
		return out, "", nil
	}
	return out[:lq.limit], lq.sort.encodeCursor(lq.shape, keys[lq.limit-1]), nil
}

// page runs the page query lq: its rows (up to the limit plus one) and
// their sort keys.
func (s *Store) page(ctx context.Context, lq *listQuery, raw bool) ([]*access.Record, []pageKey, error) {
	if lq.empty {
		return []*access.Record{}, nil, nil
	}
	rows, err := s.queryList(ctx, lq.sql, lq.args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out := make([]*access.Record, 0, lq.limit+1)
	keys := make([]pageKey, 0, lq.limit+1)
	var k pageKey
	rs := newRowScan(raw, &k.Seg, &k.Key)
	for rows.Next() {
		r, err := rs.scan(rows)
		if err != nil {
			return nil, nil, err
		}
		k.ID = r.ID
		out = append(out, r)
		keys = append(keys, k)
	}
	return out, keys, rows.Err()
}

// undatedKey reports whether k, a row's key in a date sort (or a cursor
// of one), is an undated record's: the empty key, sorted last in the one
// segment of -date, or the second segment of date.
func undatedKey(k pageKey) bool {
	key, _ := k.Key.(string)
	return k.Seg > 0 || key == ""
}

// mergeUndated merges the rows b of the undated owner ranges into the
// rows a of a deferred page (sort srt, a date sort; keys ak and bk) and
// returns the first n. a's dated rows come first; its undated rows (from
// team or sharing branches) and b's are ordered by id in the sort's
// direction. A record in both (an undated row reached by an owner path and
// a team entry, or one whose date a write removed between the two
// queries) is a's.
func mergeUndated(srt sortSpec, a []*access.Record, ak []pageKey, b []*access.Record, bk []pageKey, n int) ([]*access.Record, []pageKey) {
	seen := make(map[string]bool, len(a))
	for _, r := range a {
		seen[r.ID] = true
	}
	i := 0
	for i < len(a) && !undatedKey(ak[i]) {
		i++
	}
	out, keys := a[:i:i], ak[:i:i]
	before := func(x, y string) bool { return (x < y) != srt.desc }
	j := 0
	for len(out) < n && (i < len(a) || j < len(b)) {
		switch {
		case j < len(b) && seen[b[j].ID]:
			j++
		case j == len(b) || (i < len(a) && before(a[i].ID, b[j].ID)):
			out, keys = append(out, a[i]), append(keys, ak[i])
			i++
		default:
			out, keys = append(out, b[j]), append(keys, bk[j])
			j++
		}
	}
	return out, keys
}

// CountRecords counts the records of q up to c.Max (store.RecordStore):
// the list's plan rendered unordered, each branch limited to c.Max rows,
// their union limited again and counted (with the sum of c.Sum per value
// of c.GroupBy) in the database.
func (s *Store) CountRecords(ctx context.Context, q store.RecordQuery, c store.RecordCount) (store.RecordTotals, error) {
	t := s.policyNow().Type(q.Type)
	if t == nil {
		return store.RecordTotals{}, access.Errorf(access.CodeNotFound, "unknown object type %s", q.Type)
	}
	return s.countRecords(ctx, t, q, c, s.dialect.largeAccountSet())
}

// countRecords is CountRecords with the plan threshold given.
func (s *Store) countRecords(ctx context.Context, t *policy.Type, q store.RecordQuery, c store.RecordCount, threshold int) (store.RecordTotals, error) {
	out := store.RecordTotals{}
	if c.Sum != "" {
		out.Sums = map[string]float64{}
	}
	set, err := s.searchCandidates(ctx, q)
	if err != nil {
		return out, fmt.Errorf("count records: %w", err)
	}
	lq, err := build(s.dialect, t, q, threshold, &c, set, &s.teams)
	if err != nil || lq.empty {
		return out, err
	}
	rows, err := s.queryList(ctx, lq.sql, lq.args...)
	if err != nil {
		return out, fmt.Errorf("count records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		var n int
		var sum sql.NullFloat64
		if err := rows.Scan(&g, &n, &sum); err != nil {
			return out, fmt.Errorf("count records: %w", err)
		}
		out.N += n
		if out.Sums != nil && sum.Valid {
			out.Sums[g] += sum.Float64
		}
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("count records: %w", err)
	}
	return out, nil
}

// listQuery is a rendered page query.
type listQuery struct {
	sql   string
	args  []any
	limit int  // the page size; the query fetches limit+1 rows
	empty bool // nothing can match: no query is needed
	large bool // the large-account-set plan was chosen
	// deferred is set when the query left the undated owner ranges out
	// (datedRanges): its page is complete only when its last row (the
	// one past the limit) is dated.
	deferred bool
	sort     sortSpec
	shape    string // hash of the query's shape, carried by cursors
}

// build renders q for type t. threshold is the largest account set
// served by per-account index seeks (sqliteLargeAccountSet,
// postgresLargeAccountSet; tests pass others to force a plan). With count
// set it renders the count query of CountRecords:
// the same plan choice and branches, unordered (a count needs no order,
// and an unordered branch stops at count.Max rows whatever the number of
// accounts), without cursor or sort. set, when not nil, is the search's
// candidate set (searchindex.go), which selects the candidate plan.
func build(d dialect, t *policy.Type, q store.RecordQuery, threshold int, count *store.RecordCount, set *searchSet, tp *teamPrincipals) (*listQuery, error) {
	return buildRanges(d, t, q, threshold, count, set, tp, datedRanges)
}

// buildRanges is build with the owner ranges of clauses with a cutoff
// chosen (rangeMode).
func buildRanges(d dialect, t *policy.Type, q store.RecordQuery, threshold int, count *store.RecordCount, set *searchSet, tp *teamPrincipals, ranges rangeMode) (*listQuery, error) {
	if q.Predicate == nil {
		return nil, fmt.Errorf("list records: no predicate")
	}
	if q.Predicate.Type != "" && q.Predicate.Type != t.Name {
		return nil, fmt.Errorf("list records: predicate of type %s for a list of %s", q.Predicate.Type, t.Name)
	}
	if count != nil {
		q.Sort, q.Cursor = "", ""
	}
	srt, err := parseSort(t, q.Sort)
	if err != nil {
		return nil, err
	}
	lb := &listBuilder{sqlb: sqlb{d: d}, t: t, q: q, sort: srt, n: limit(q.Limit) + 1, count: count, teams: tp}
	if count != nil {
		lb.n = max(count.Max, 1)
	}
	out := &listQuery{limit: lb.n - 1, sort: srt}
	if out.shape, err = queryShape(t, q, srt); err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		if lb.cur, err = srt.decodeCursor(q.Cursor, out.shape); err != nil {
			return nil, err
		}
	}
	rest, ok, err := lb.filters()
	if err != nil {
		return nil, err
	}
	if !ok || q.Predicate.Empty() {
		out.empty = true
		return out, nil
	}
	lb.restFilters = rest
	lb.typ = lb.p(t.Name)
	lb.dayRanges = ranges
	if ranges == datedRanges && (count != nil || srt.kind != sortDate || (lb.cur != nil && undatedKey(*lb.cur))) {
		// Not a page of a date sort, or one that starts among the
		// undated rows.
		lb.dayRanges = allRanges
	}

	pred := q.Predicate
	switch {
	case q.Parent != nil:
		// One record's children (a related list): few rows, read from the
		// parent index with the whole predicate as a filter.
		out.sql = lb.children(pred)
	case set != nil && len(set.pks) == 0:
		out.empty = true
		return out, nil
	case set != nil:
		// A selective search: the index's candidates (searchindex.go).
		out.sql = lb.candidates(pred, set)
	case pred.All && (q.Accounts == nil || len(q.Accounts) > threshold):
		// Staff: the whole type, with any account filter as a filter.
		out.large = true
		out.sql = lb.scan("")
	case pred.All:
		// Staff with a small account filter: the owner branch alone.
		out.sql = lb.union(lb.ownerParts([]access.AccountClause{{Accounts: q.Accounts}}, ""))
	case countAccounts(pred, 0) > threshold:
		out.large = true
		out.sql = lb.scan(lb.filter(pred, "r", 0))
	default:
		parts := lb.ownerParts(pred.Accounts, pred.User)
		if lb.dayRanges != undatedRanges {
			parts = append(parts, lb.teamParts(pred)...)
			for _, sc := range pred.Shared {
				parts = append(parts, lb.sharedParts(pred, sc)...)
			}
		}
		if len(parts) == 0 {
			out.empty = true
			return out, nil
		}
		out.sql = lb.union(parts)
		out.deferred = lb.deferred
	}
	out.args = lb.args
	return out, nil
}

// countAccounts returns the number of account entries p names in all its
// clauses and, recursively, in its sharing clauses' parent predicates: the
// measure the plan choice uses.
func countAccounts(p *access.Predicate, hops int) int {
	n := 0
	for _, ac := range p.Accounts {
		n += len(ac.Accounts)
	}
	for _, sc := range p.Shared {
		n += countAccounts(sc.Parent, hops+1)
	}
	return n
}

// sqlb accumulates numbered parameters ($1, $2, ...: PostgreSQL's syntax,
// which modernc's SQLite driver binds by number too), so fragments can be
// rendered in any order and reused.
type sqlb struct {
	d    dialect
	args []any
}

// p adds a parameter and returns its placeholder.
func (b *sqlb) p(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// in renders "col IN vals" for a list of strings: = for one value, = ANY of
// a text array on PostgreSQL, an inline list or json_each on SQLite.
func (b *sqlb) in(col string, vals []string) string { return b.d.in(b, col, vals) }

// listBuilder renders one list query.
type listBuilder struct {
	sqlb
	t    *policy.Type
	q    store.RecordQuery
	sort sortSpec
	cur  *pageKey
	n    int // rows to fetch: the limit plus one
	// typ is the placeholder of the type; restFilters and acctSQL the
	// rendered filters of the query (alias "r"), reused by every branch.
	typ         string
	restFilters []string
	acctSQL     string
	// probeByRecord renders filter's team condition for the preview,
	// which filters many rows against a predicate of many principals:
	// as the set of the principals' entries, read once, when no entry's
	// condition depends on the record (teamCondsOnRecord) and the
	// database keeps such a set in memory (listDialect.teamEntrySet:
	// SQLite; its cost is then linear in the entries of the filter's
	// principals, even for a small change); otherwise as
	// a probe of the record's own entries (the primary key's record_pk
	// range), the principals compared after the read, since one index
	// probe per principal and row would cost more than the few entries a
	// record has.
	probeByRecord bool
	// count, when set, renders a count (CountRecords) instead of a page:
	// branches select (id, sv, gv) unordered, limited to count.Max.
	count *store.RecordCount
	// teams, when set, is the store's set of principals with team
	// entries: the team branches seek only those (teamprincipals.go).
	teams *teamPrincipals
	// dayRanges says which owner ranges of clauses with a cutoff the page
	// renders; deferred is set when ownerParts left undated ranges out.
	dayRanges rangeMode
	deferred  bool
}

// rangeMode selects the owner ranges a page of a date sort renders for
// clauses with a cutoff (days_back), which are two: the dated rows from
// the cutoff on and the undated rows. Undated rows sort after every dated
// row in both directions, so when the other branches fill a page with
// dated rows the undated ranges cannot change it, and their seeks (one
// per account, most finding nothing) are saved.
type rangeMode int

const (
	// allRanges renders both ranges in one query.
	allRanges rangeMode = iota
	// datedRanges leaves the undated ranges out of a page of a date sort
	// (listQuery.deferred); another sort renders all ranges.
	datedRanges
	// undatedRanges renders the undated ranges alone: the second query
	// of a deferred page, whose rows listRecords merges into the first's.
	undatedRanges
)

// part is one branch of a page: a FROM clause and conditions on the
// record alias "r", rendered once per sort segment.
type part struct {
	// lateral, when set, is the PostgreSQL per-account form: the array
	// parameter of the accounts whose ranges the branch merges.
	lateral string
	from    string
	conds   []string
	// owned is set for owner branches, whose account lists are already
	// narrowed to the account filter; accounts is the length of that list.
	owned    bool
	accounts int
	// distinct groups the branch's rows by record: a team branch of
	// several principals meets a record once per matching team entry.
	distinct bool
}

// filters renders the query's filters on alias "r" but the account
// filter (see acctFilter): dates, attributes, updated_since. ok is false
// when no record can match (an empty account filter).
func (lb *listBuilder) filters() (rest []string, ok bool, err error) {
	q := lb.q
	if q.Accounts != nil && len(q.Accounts) == 0 {
		return nil, false, nil
	}
	switch {
	case q.DateFrom != "" && !isDay(q.DateFrom):
		return nil, false, access.Errorf(access.CodeInvalid, "date_from %q is not YYYY-MM-DD", q.DateFrom)
	case q.DateTo != "" && !isDay(q.DateTo):
		return nil, false, access.Errorf(access.CodeInvalid, "date_to %q is not YYYY-MM-DD", q.DateTo)
	case q.DateFrom != "":
		rest = append(rest, "r.dkey >= "+lb.p(q.DateFrom))
	case q.DateTo != "":
		rest = append(rest, "r.dkey > ''") // undated records have no date to compare
	}
	if q.DateTo != "" {
		// Instants of the last day have dkeys above "YYYY-MM-DD": compare
		// with the next day.
		d, _ := time.Parse(time.DateOnly, q.DateTo)
		rest = append(rest, "r.dkey < "+lb.p(d.AddDate(0, 0, 1).Format(time.DateOnly)))
	}
	if q.UpdatedSince != nil {
		rest = append(rest, "r.updated_at >= "+lb.p(toMicros(*q.UpdatedSince)))
	}
	names := make([]string, 0, len(q.Attrs))
	for name := range q.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := lb.t.Fields[name]
		if !ok || !safeFieldName(name) {
			return nil, false, access.Errorf(access.CodeInvalidField, "cannot filter %s records on attr.%s", lb.t.Name, name)
		}
		vals := q.Attrs[name]
		if len(vals) == 0 {
			continue
		}
		phs := make([]string, len(vals))
		svs := make([]any, len(vals))
		for i, v := range vals {
			sv, err := attrValue(f, v)
			if err != nil {
				return nil, false, err
			}
			phs[i], svs[i] = lb.p(sv), sv
		}
		exact := lb.d.attrExpr("r", f) + " IN (" + strings.Join(phs, ", ") + ")"
		if pre := lb.d.attrPrefilter(&lb.sqlb, "r", f, svs); pre != "" {
			exact = "(" + pre + " AND " + exact + ")"
		}
		rest = append(rest, exact)
	}
	ranges, err := lb.ranges()
	if err != nil {
		return nil, false, err
	}
	rest = append(rest, ranges...)
	if s := lb.search(); s != "" {
		rest = append(rest, s)
	}
	return rest, true, nil
}

// ranges renders the query's attribute ranges on alias "r": a date's
// upper bound compares with the next day, so that instants of the last
// day are in.
func (lb *listBuilder) ranges() ([]string, error) {
	names := make([]string, 0, len(lb.q.Ranges))
	for name := range lb.q.Ranges {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []string
	for _, name := range names {
		f, ok := lb.t.Fields[name]
		if !ok || !safeFieldName(name) || (f.Type != policy.FieldDate && f.Type != policy.FieldNumber) {
			return nil, access.Errorf(access.CodeInvalidField, "cannot filter %s records on a range of attr.%s", lb.t.Name, name)
		}
		rg, expr := lb.q.Ranges[name], lb.d.attrExpr("r", f)
		for i, b := range []any{rg.From, rg.To} {
			if b == nil {
				continue
			}
			v, err := attrValue(f, b)
			if err != nil {
				return nil, err
			}
			if f.Type == policy.FieldDate {
				if !isDay(v.(string)) {
					return nil, access.Errorf(access.CodeInvalid, "attr.%s: %v is not YYYY-MM-DD", name, b)
				}
				if i == 1 {
					d, _ := time.Parse(time.DateOnly, v.(string))
					out = append(out, expr+" < "+lb.p(d.AddDate(0, 0, 1).Format(time.DateOnly)))
					continue
				}
			}
			op := " >= "
			if i == 1 {
				op = " <= "
			}
			out = append(out, expr+op+lb.p(v))
		}
	}
	return out, nil
}

// search renders the query's text search on alias "r" ("" for none): the
// id or one of the named declared string fields contains the text.
func (lb *listBuilder) search() string {
	text := searchTerm(lb.q)
	if text == "" {
		return ""
	}
	q := lb.q.Search
	ph := lb.p(likePattern(text))
	ors := []string{lb.d.contains("r.id", ph)}
	for _, name := range q.Fields {
		if f, ok := lb.t.Fields[name]; ok && f.Type == policy.FieldString && safeFieldName(name) {
			ors = append(ors, lb.d.contains(lb.d.attrExpr("r", f), ph))
		}
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// likeEscaper escapes the wildcards of a LIKE pattern (escape character
// backslash).
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// acctFilter renders the account filter on alias "r" ("" for none), once:
// owner branches apply it by narrowing their account lists instead, and a
// parameter no branch uses would leave PostgreSQL unable to type it.
func (lb *listBuilder) acctFilter() string {
	if len(lb.q.Accounts) > 0 && lb.acctSQL == "" {
		lb.acctSQL = lb.in("r.owner", lb.q.Accounts)
	}
	return lb.acctSQL
}

// cond renders an access.Cond on alias a ("" when it admits everything).
func (lb *listBuilder) cond(a string, c access.Cond, user string) string {
	var s []string
	if c.Cutoff != "" {
		s = append(s, "("+a+".dkey >= "+lb.p(c.Cutoff)+" OR "+a+".dkey = '')")
	}
	if c.CreatorOnly {
		s = append(s, a+".creator = "+lb.p(user))
	}
	return strings.Join(s, " AND ")
}

// ownerParts returns the owner branches of clauses: one per clause, its
// accounts narrowed to the account filter.
func (lb *listBuilder) ownerParts(clauses []access.AccountClause, user string) []part {
	var filter map[string]bool
	if lb.q.Accounts != nil {
		filter = make(map[string]bool, len(lb.q.Accounts))
		for _, a := range lb.q.Accounts {
			filter[a] = true
		}
	}
	var parts []part
	for _, ac := range clauses {
		accts := ac.Accounts
		if filter != nil {
			accts = nil
			for _, a := range ac.Accounts {
				if filter[a] {
					accts = append(accts, a)
				}
			}
		}
		if len(accts) == 0 {
			continue
		}
		// A cutoff is two branches, dated rows from the cutoff on and
		// undated rows, each one index range read in order: as one
		// condition (dkey >= cutoff OR dkey = '') SQLite would read both
		// ranges whole and sort them, and both databases would read past
		// the cutoff to reach the undated rows.
		dkeys := []string{""}
		switch {
		case ac.Cutoff != "" && lb.dayRanges == datedRanges:
			// The undated ranges come later if the page needs them
			// (listQuery.deferred).
			dkeys, lb.deferred = []string{"r.dkey >= " + lb.p(ac.Cutoff)}, true
		case ac.Cutoff != "" && lb.dayRanges == undatedRanges:
			dkeys = []string{"r.dkey = ''"}
		case ac.Cutoff != "":
			dkeys = []string{"r.dkey >= " + lb.p(ac.Cutoff), "r.dkey = ''"}
		case lb.dayRanges == undatedRanges:
			continue
		}
		// On SQLite the owner index is forced: with a key account in the
		// set, ANALYZE statistics can tempt the planner into scanning
		// records_date (which also holds owner) for the first page, a plan
		// whose deeper pages degrade to tens of milliseconds.
		from := lb.d.ownedFrom("r")
		var ownerCond, lateral string
		if lb.count == nil && lb.d.perAccountTopN(len(accts), lb.sort.kind) {
			// The per-account top-N merged by the sort key.
			ownerCond, lateral = "r.owner = o.owner", lb.p(accts)
		} else {
			ownerCond = lb.in("r.owner", accts)
		}
		creator := ""
		if ac.CreatorOnly {
			creator = "r.creator = " + lb.p(user)
		}
		for _, dk := range dkeys {
			conds := []string{ownerCond}
			if dk != "" {
				conds = append(conds, dk)
			}
			if creator != "" {
				conds = append(conds, creator)
			}
			parts = append(parts, part{lateral: lateral, from: from, owned: true, accounts: len(accts), conds: conds})
		}
	}
	return parts
}

// teamCondsOnRecord reports whether p's team entries come with a
// condition on the record (a cutoff or creator-only).
func teamCondsOnRecord(p *access.Predicate) bool {
	for _, ac := range p.Accounts {
		if ac.Cond != (access.Cond{}) {
			return true
		}
	}
	return p.TeamUser != nil && *p.TeamUser != (access.Cond{})
}

// principalCol is the principal column of team alias t in a condition:
// with probeByRecord an expression, which no index serves.
func (lb *listBuilder) principalCol(t string) string {
	if lb.probeByRecord {
		return "(" + t + ".principal || '')"
	}
	return t + ".principal"
}

// teamConds renders the team-entry conditions of p on team alias t and
// record alias a: the principals to seek (for the index) and the
// condition each principal comes with ("" when seeking the principals is
// all there is to it). ok is false when p has no team branch, as for a
// predicate limited to owner paths.
func (lb *listBuilder) teamConds(p *access.Predicate, t, a string) (principals []string, cond string, ok bool) {
	if p.Owned {
		// Owner paths only (access.Predicate.OwnerPaths): no team branch.
		return nil, "", false
	}
	// The principals first, before anything is rendered: a branch that
	// is left out must leave no parameter behind.
	for _, ac := range p.Accounts {
		for _, acct := range ac.Accounts {
			principals = append(principals, "account:"+acct)
		}
	}
	if p.TeamUser != nil {
		principals = append(principals, "user:"+p.User)
	}
	if len(p.Accounts) == 0 && p.TeamUser == nil {
		return nil, "", false
	}
	slices.Sort(principals)
	principals = slices.Compact(principals)
	if lb.teams != nil {
		// Only the principals that have entries are sought; the
		// conditions below may name others, which match no row.
		if principals = lb.teams.filter(principals); len(principals) == 0 {
			return nil, "", false
		}
	}
	var ors []string
	col := lb.principalCol(t)
	// plain is set when seeking the principals is the whole condition:
	// one clause without conditions (a parameter rendered for nothing
	// would leave PostgreSQL unable to type it).
	plain := len(p.Accounts) == 1 && p.Accounts[0].Cond == (access.Cond{}) && p.TeamUser == nil
	if plain {
		ors = append(ors, "")
	}
	for _, ac := range p.Accounts {
		if plain {
			break
		}
		ps := make([]string, len(ac.Accounts))
		for i, acct := range ac.Accounts {
			ps[i] = "account:" + acct
		}
		s := lb.in(col, ps)
		if c := lb.cond(a, ac.Cond, p.User); c != "" {
			s += " AND " + c
		}
		ors = append(ors, "("+s+")")
	}
	if p.TeamUser != nil {
		s := col + " = " + lb.p("user:"+p.User)
		if c := lb.cond(a, *p.TeamUser, p.User); c != "" {
			s += " AND " + c
		}
		ors = append(ors, "("+s+")")
	}
	switch {
	case len(ors) == 1 && !plain:
		cond = ors[0]
	case len(ors) > 1:
		cond = "(" + strings.Join(ors, " OR ") + ")"
	}
	if p.TeamWrite {
		if cond != "" {
			cond = " AND " + cond
		}
		cond = t + ".access = 'read_write'" + cond
	}
	return principals, cond, true
}

// teamParts returns the team branch of p: record_teams rows of its
// principals, joined to their records.
func (lb *listBuilder) teamParts(p *access.Predicate) []part {
	principals, cond, ok := lb.teamConds(p, "t", "r")
	if !ok {
		return nil
	}
	conds := []string{lb.in("t.principal", principals)}
	if cond != "" {
		conds = append(conds, cond)
	}
	// On SQLite the join order is forced (CROSS JOIN keeps record_teams
	// outside): without statistics the planner would otherwise scan every
	// record of the type in date order and probe its team entries.
	from := lb.d.teamsFrom("t", "r")
	return []part{{from: from, conds: conds, distinct: len(principals) > 1}}
}

// sharedParts returns the branch of one sharing clause: children of the
// parents the parent predicate selects.
func (lb *listBuilder) sharedParts(p *access.Predicate, sc access.SharedClause) []part {
	set := lb.set(sc.Parent, 1)
	if set == "" {
		return nil
	}
	conds := []string{"r.parent_type = " + lb.p(sc.Parent.Type), "r.parent_id IS NOT NULL", "r.parent_id IN (" + set + ")"}
	if sc.CreatorOnly {
		conds = append(conds, "r.creator = "+lb.p(p.User))
	}
	from := lb.d.sharedFrom()
	return []part{{from: from, conds: conds}}
}

// set renders the ids of the records p selects as a UNION of its branches
// (no order, no limit), for the parents of a sharing branch. depth names
// the aliases; "" means nothing matches.
func (lb *listBuilder) set(p *access.Predicate, depth int) string {
	a := "s" + strconv.Itoa(depth)
	typ := lb.p(p.Type)
	if p.All {
		return "SELECT " + a + ".id FROM records " + a + " WHERE " + a + ".type = " + typ
	}
	var sels []string
	for _, ac := range p.Accounts {
		s := "SELECT " + a + ".id FROM " + lb.d.ownedFrom(a) + " WHERE " + a + ".type = " + typ + " AND " + lb.in(a+".owner", ac.Accounts)
		if c := lb.cond(a, ac.Cond, p.User); c != "" {
			s += " AND " + c
		}
		sels = append(sels, s)
	}
	t := "t" + strconv.Itoa(depth)
	if principals, cond, ok := lb.teamConds(p, t, a); ok {
		sels = append(sels, "SELECT "+a+".id FROM "+lb.d.teamsFrom(t, a)+" WHERE "+
			lb.in(t+".principal", principals)+" AND "+a+".type = "+typ+andCond(cond))
	}
	for _, sc := range p.Shared {
		inner := lb.set(sc.Parent, depth+1)
		if inner == "" {
			continue
		}
		s := "SELECT " + a + ".id FROM records " + a + " WHERE " + a + ".parent_type = " + lb.p(sc.Parent.Type) +
			" AND " + a + ".parent_id IS NOT NULL AND " + a + ".parent_id IN (" + inner + ") AND " + a + ".type = " + typ
		if sc.CreatorOnly {
			s += " AND " + a + ".creator = " + lb.p(p.User)
		}
		sels = append(sels, s)
	}
	return strings.Join(sels, " UNION ")
}

// andCond returns " AND c", or "" for an empty c.
func andCond(c string) string {
	if c == "" {
		return ""
	}
	return " AND " + c
}

// filter renders p as a boolean condition on record alias a, for the scan
// plan: owner clauses directly, team entries and parents through
// correlated EXISTS (the parent's own predicate rendered the same way).
func (lb *listBuilder) filter(p *access.Predicate, a string, depth int) string {
	if p.All {
		return "1 = 1"
	}
	var ors []string
	for _, ac := range p.Accounts {
		s := lb.in(a+".owner", ac.Accounts)
		if c := lb.cond(a, ac.Cond, p.User); c != "" {
			s += " AND " + c
		}
		ors = append(ors, "("+s+")")
	}
	t := "t" + strconv.Itoa(depth)
	if principals, cond, ok := lb.teamConds(p, t, a); ok {
		if lb.probeByRecord && !teamCondsOnRecord(p) && lb.d.teamEntrySet() {
			// The entries do not depend on the row: read once (SQLite
			// keeps the set in memory, an in-memory probe per row), not
			// one index probe per row.
			ors = append(ors, a+".pk IN (SELECT "+t+".record_pk FROM record_teams "+t+" WHERE "+
				lb.in(t+".principal", principals)+andCond(cond)+")")
		} else {
			col := lb.principalCol(t)
			ors = append(ors, "EXISTS (SELECT 1 FROM record_teams "+t+" WHERE "+t+".record_pk = "+a+".pk AND "+
				lb.in(col, principals)+andCond(cond)+")")
		}
	}
	pa := "p" + strconv.Itoa(depth+1)
	for _, sc := range p.Shared {
		s := a + ".parent_type = " + lb.p(sc.Parent.Type)
		if sc.CreatorOnly {
			s += " AND " + a + ".creator = " + lb.p(p.User)
		}
		s += " AND EXISTS (SELECT 1 FROM records " + pa + " WHERE " + pa + ".type = " + a + ".parent_type AND " +
			pa + ".id = " + a + ".parent_id AND " + lb.filter(sc.Parent, pa, depth+1) + ")"
		ors = append(ors, "("+s+")")
	}
	if len(ors) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// scan renders the large-set plan: one scan of the type in sort order
// (forced onto the sort's index on SQLite) with the predicate as a filter.
func (lb *listBuilder) scan(pred string) string {
	var extra []string
	if pred != "" {
		extra = append(extra, pred)
	}
	return lb.scanPart(part{from: lb.d.scanFrom(lb.sort.index()), conds: extra})
}

// children renders the related-list plan: the children of q.Parent from
// the parent index, with predicate p as a filter on every row (the same
// rendering as the scan plan's), sorted after the read.
func (lb *listBuilder) children(p *access.Predicate) string {
	conds := []string{"r.parent_type = " + lb.p(lb.q.Parent.Type), "r.parent_id IS NOT NULL", "r.parent_id = " + lb.p(lb.q.Parent.ID)}
	if !p.All {
		conds = append(conds, lb.filter(p, "r", 0))
	}
	return lb.scanPart(part{from: lb.d.sharedFrom(), conds: conds})
}

// scanPart renders part p as a whole page, one select per sort segment.
func (lb *listBuilder) scanPart(p part) string {
	var segs []string
	for seg := range lb.sort.segments() {
		if s, ok := lb.render(p, seg, lb.count == nil); ok {
			segs = append(segs, s)
		}
	}
	if lb.count != nil {
		return lb.countOuter(segs)
	}
	if len(segs) == 1 {
		return segs[0]
	}
	return lb.outer(segs, true)
}

// union renders parts as one page: a lone part directly, several as the
// ordered, limited union of their keys joined back to the records.
func (lb *listBuilder) union(parts []part) string {
	var segs []string
	// A lone branch is the page itself, its rows read whole, when it
	// reads them in the page's order: not an owner branch over several
	// accounts, whose IN list SQLite reads up to a page per account and
	// sorts (keys first, then the page's rows, as for a union).
	direct := len(parts) == 1 && parts[0].lateral == "" && lb.count == nil && parts[0].accounts <= 1
	for _, p := range parts {
		for seg := range lb.sort.segments() {
			if s, ok := lb.render(p, seg, direct); ok {
				segs = append(segs, s)
			}
		}
	}
	if lb.count != nil {
		return lb.countOuter(segs)
	}
	if len(segs) == 0 {
		// The cursor is past every segment.
		return lb.emptyQuery()
	}
	if direct && len(segs) == 1 {
		return segs[0]
	}
	return lb.outer(segs, direct)
}

// countOuter merges the count branches segs: the union of their rows
// (a record reached by two branches counts once), limited to count.Max,
// counted and summed per group value.
func (lb *listBuilder) countOuter(segs []string) string {
	inner := "SELECT '' AS id, 0 AS sv, '' AS gv WHERE 1 = 0"
	switch {
	case len(segs) == 1:
		inner = segs[0]
	case len(segs) > 1:
		var b strings.Builder
		for i, s := range segs {
			if i > 0 {
				b.WriteString(" UNION ")
			}
			fmt.Fprintf(&b, "SELECT * FROM (%s) AS b%d", s, i)
		}
		fmt.Fprintf(&b, " LIMIT %d", lb.n)
		inner = b.String()
	}
	return "SELECT c.gv, count(*), sum(c.sv) FROM (" + inner + ") AS c GROUP BY c.gv"
}

// countCols is the select list of a count branch on alias a: the id, the
// summed attribute (0 without one) and the group attribute (” without
// one).
func (lb *listBuilder) countCols(a string) string {
	sv, gv := "0", "''"
	if f, ok := lb.t.Fields[lb.count.Sum]; ok && f.Type == policy.FieldNumber && safeFieldName(f.Name) {
		sv = lb.d.attrExpr(a, f)
	}
	if f, ok := lb.t.Fields[lb.count.GroupBy]; ok && f.Type == policy.FieldString && safeFieldName(f.Name) {
		gv = "COALESCE(" + lb.d.attrExpr(a, f) + ", '')"
	}
	return a + ".id AS id, " + sv + " AS sv, " + gv + " AS gv"
}

// emptyQuery selects no rows in the shape of a page.
func (lb *listBuilder) emptyQuery() string {
	return "SELECT " + lb.d.recordCols() + ", 0 AS seg, NULL AS sk FROM records r WHERE 1 = 0"
}

// outer merges rendered segments: their union ordered and limited. full
// says the segments select whole records (else only seg, sk, id, joined
// back to records here).
func (lb *listBuilder) outer(segs []string, full bool) string {
	var b strings.Builder
	order := lb.sort.outerOrder("")
	if full {
		for i, s := range segs {
			if i > 0 {
				b.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&b, "SELECT * FROM (%s) AS b%d", s, i)
		}
		fmt.Fprintf(&b, " ORDER BY %s LIMIT %d", order, lb.n)
		return b.String()
	}
	b.WriteString("SELECT " + lb.d.recordCols() + ", u.seg, u.sk FROM (")
	for i, s := range segs {
		if i > 0 {
			b.WriteString(" UNION ")
		}
		fmt.Fprintf(&b, "SELECT * FROM (%s) AS b%d", s, i)
	}
	join := "r.type = " + lb.typ + " AND r.id = u.id"
	if lb.d.pageByPk() {
		join = "r.pk = u.pk"
	}
	fmt.Fprintf(&b, " ORDER BY %s LIMIT %d) AS u JOIN records r ON %s ORDER BY %s",
		order, lb.n, join, lb.sort.outerOrder("u."))
	return b.String()
}

// render renders part p for sort segment seg, selecting whole records
// (full) or only (seg, sk, id). ok is false when the cursor is past the
// segment.
func (lb *listBuilder) render(p part, seg int, full bool) (string, bool) {
	ks, ok := lb.keyset(seg)
	if !ok {
		return "", false
	}
	conds := []string{"r.type = " + lb.typ}
	conds = append(conds, p.conds...)
	if !p.owned && len(lb.q.Accounts) > 0 {
		conds = append(conds, lb.acctFilter())
	}
	conds = append(conds, lb.restFilters...)
	if w := lb.sort.segWhere(lb.d, seg, "r"); w != "" {
		conds = append(conds, w)
	}
	if ks != "" {
		conds = append(conds, ks)
	}
	group := ""
	if p.distinct {
		group = " GROUP BY r.pk"
	}
	if lb.count != nil {
		return fmt.Sprintf("SELECT %s FROM %s WHERE %s%s LIMIT %d", lb.countCols("r"), p.from, strings.Join(conds, " AND "), group, lb.n), true
	}
	sel := strconv.Itoa(seg) + " AS seg, " + lb.sort.keyExpr(lb.d, "r") + " AS sk, r.id AS id"
	if lb.d.pageByPk() {
		sel += ", r.pk AS pk"
	}
	if full {
		sel = lb.d.recordCols() + ", " + strconv.Itoa(seg) + " AS seg, " + lb.sort.keyExpr(lb.d, "r") + " AS sk"
	}
	q := fmt.Sprintf("SELECT %s FROM %s WHERE %s%s ORDER BY %s LIMIT %d",
		sel, p.from, strings.Join(conds, " AND "), group, lb.sort.order(lb.d, seg, "r"), lb.n)
	if p.lateral != "" {
		q = fmt.Sprintf("SELECT x.seg, x.sk, x.id FROM unnest(%s::text[]) AS o(owner) CROSS JOIN LATERAL (%s) AS x ORDER BY %s LIMIT %d",
			p.lateral, q, lb.sort.outerOrder("x."), lb.n)
	}
	return q, true
}

// keyset renders the cursor's condition for segment seg; ok is false when
// the cursor is past the segment.
func (lb *listBuilder) keyset(seg int) (string, bool) {
	c := lb.cur
	switch {
	case c == nil || seg > c.Seg:
		return "", true
	case seg < c.Seg:
		return "", false
	}
	op := ">"
	if lb.sort.desc {
		op = "<"
	}
	id := lb.p(c.ID)
	if !lb.sort.keyed(seg) {
		return "r.id " + op + " " + id, true
	}
	k, ck := lb.sort.keyExpr(lb.d, "r"), lb.p(c.Key)
	// Written so that both databases use the key column as an index range.
	return fmt.Sprintf("%s %s= %s AND (%s %s %s OR r.id %s %s)", k, op, ck, k, op, ck, op, id), true
}

// Sort kinds.
const (
	sortDate = iota
	sortID
	sortAttr
	sortUpdated
)

// sortSpec is a parsed sort order.
type sortSpec struct {
	name  string // canonical form, e.g. "-date"
	kind  int
	desc  bool
	field policy.Field // for sortAttr
}

// parseSort parses a RecordQuery.Sort for type t.
func parseSort(t *policy.Type, s string) (sortSpec, error) {
	if s == "" {
		s = "-date"
	}
	name, desc := strings.CutPrefix(s, "-")
	sp := sortSpec{name: s, desc: desc}
	switch {
	case name == "date":
		sp.kind = sortDate
	case name == "id":
		sp.kind = sortID
	case name == "updated_at" && !desc:
		sp.kind = sortUpdated
	case strings.HasPrefix(name, "attr."):
		f, ok := t.Fields[strings.TrimPrefix(name, "attr.")]
		if !ok || !safeFieldName(f.Name) {
			return sp, access.Errorf(access.CodeInvalidField, "cannot sort %s records on %s", t.Name, name)
		}
		sp.kind, sp.field = sortAttr, f
	default:
		return sp, access.Errorf(access.CodeInvalid, "sort %q must be date, -date, id, -id, attr.<name>, -attr.<name> or updated_at", s)
	}
	return sp, nil
}

// segments is the number of sort segments: two when some rows (undated,
// or without the attribute) must come after the others in an ascending
// index order.
func (s sortSpec) segments() int {
	if (s.kind == sortDate && !s.desc) || s.kind == sortAttr {
		return 2
	}
	return 1
}

// keyed reports whether segment seg is ordered by a key before the id (the
// trailing segment of a split sort holds rows whose key is absent).
func (s sortSpec) keyed(seg int) bool {
	return seg == 0 && s.kind != sortID
}

// keyExpr is the sort key of alias a (NULL for the id sort).
func (s sortSpec) keyExpr(d dialect, a string) string {
	switch s.kind {
	case sortDate:
		return a + ".dkey"
	case sortUpdated:
		return a + ".updated_at"
	case sortAttr:
		return d.attrExpr(a, s.field)
	}
	return "NULL"
}

// segWhere selects the rows of segment seg.
func (s sortSpec) segWhere(d dialect, seg int, a string) string {
	switch {
	case s.kind == sortDate && !s.desc && seg == 0:
		return a + ".dkey > ''"
	case s.kind == sortDate && !s.desc:
		return a + ".dkey = ''"
	case s.kind == sortAttr && seg == 0:
		return d.attrExpr(a, s.field) + " IS NOT NULL"
	case s.kind == sortAttr:
		return d.attrExpr(a, s.field) + " IS NULL"
	}
	return ""
}

// dir is the SQL direction of the sort.
func (s sortSpec) dir() string {
	if s.desc {
		return " DESC"
	}
	return ""
}

// order is the ORDER BY of segment seg on alias a.
func (s sortSpec) order(d dialect, seg int, a string) string {
	if !s.keyed(seg) {
		return a + ".id" + s.dir()
	}
	return s.keyExpr(d, a) + s.dir() + ", " + a + ".id" + s.dir()
}

// outerOrder orders merged rows by (seg, sk, id) with prefix pre ("u.").
// seg is left out for one-segment sorts: then the order is exactly the
// branches' own, and SQLite merges the ordered branches without sorting
// them again.
func (s sortSpec) outerOrder(pre string) string {
	seg := pre + "seg, "
	if s.segments() == 1 {
		seg = ""
	}
	if s.kind == sortID {
		return seg + pre + "id" + s.dir()
	}
	return seg + pre + "sk" + s.dir() + ", " + pre + "id" + s.dir()
}

// index names the SQLite index that yields the sort's order for one type.
func (s sortSpec) index() string {
	switch s.kind {
	case sortDate:
		return "records_date"
	case sortID:
		return "records_type_id"
	case sortUpdated:
		return "records_updated"
	}
	return ""
}

// safeFieldName reports whether a declared field name can be written into
// SQL text as a quoted JSON key (policy validation already excludes dots,
// brackets and spaces).
func safeFieldName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "'\"\\\x00")
}

// attrValue converts a filter value to the SQL value attrExpr yields for
// field f; a value of another type is CodeInvalid.
func attrValue(f policy.Field, v any) (any, error) {
	bad := func() error {
		return access.Errorf(access.CodeInvalid, "attr.%s: %v is not a %s", f.Name, v, f.Type)
	}
	switch f.Type {
	case policy.FieldNumber:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		case json.Number:
			if n, err := x.Float64(); err == nil {
				return n, nil
			}
		case string:
			if n, err := strconv.ParseFloat(x, 64); err == nil && !math.IsInf(n, 0) && !math.IsNaN(n) {
				return n, nil
			}
		}
		return nil, bad()
	case policy.FieldBool:
		switch x := v.(type) {
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return attrValue(f, b)
			}
		}
		return nil, bad()
	case policy.FieldDate:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.DateOnly), nil
		case string:
			return x, nil
		}
		return nil, bad()
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return nil, bad()
}

// isDay reports whether s is a valid YYYY-MM-DD date.
func isDay(s string) bool {
	if len(s) != 10 {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// pageKey is the position of a row in a list: its sort segment, sort key
// and id. A cursor carries the last row's.
type pageKey struct {
	Seg int    `json:"s"`
	Key any    `json:"k,omitempty"`
	ID  string `json:"i"`
}

// cursorJSON is the encoded form of a cursor.
type cursorJSON struct {
	Shape string `json:"h"`
	pageKey
}

// encodeCursor returns the opaque cursor after row k of a list of shape.
func (s sortSpec) encodeCursor(shape string, k pageKey) string {
	if !s.keyed(k.Seg) {
		k.Key = nil
	}
	switch v := k.Key.(type) {
	case []byte:
		k.Key = string(v)
	case time.Time:
		k.Key = v.Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(cursorJSON{Shape: shape, pageKey: k})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor of a list of shape. A malformed cursor, or
// one of a list with other filters or sort, is CodeInvalid.
func (s sortSpec) decodeCursor(c, shape string) (*pageKey, error) {
	bad := access.Errorf(access.CodeInvalid, "the cursor is not valid")
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var cj cursorJSON
	if err := dec.Decode(&cj); err != nil || cj.ID == "" || cj.Seg < 0 || cj.Seg >= s.segments() {
		return nil, bad
	}
	if cj.Shape != shape {
		return nil, access.Errorf(access.CodeInvalid, "the cursor belongs to a list with other filters or sort")
	}
	k := cj.pageKey
	if !s.keyed(k.Seg) {
		k.Key = nil
		return &k, nil
	}
	switch s.kind {
	case sortUpdated:
		n, ok := k.Key.(json.Number)
		if !ok {
			return nil, bad
		}
		i, err := n.Int64()
		if err != nil {
			return nil, bad
		}
		k.Key = i
	case sortAttr:
		switch s.field.Type {
		case policy.FieldNumber:
			n, ok := k.Key.(json.Number)
			if !ok {
				return nil, bad
			}
			f, err := n.Float64()
			if err != nil {
				return nil, bad
			}
			k.Key = f
		case policy.FieldBool:
			n, ok := k.Key.(json.Number)
			if !ok {
				return nil, bad
			}
			i, err := n.Int64()
			if err != nil {
				return nil, bad
			}
			k.Key = i
		default:
			if _, ok := k.Key.(string); !ok {
				return nil, bad
			}
		}
	default:
		if _, ok := k.Key.(string); !ok {
			return nil, bad
		}
	}
	return &k, nil
}

// queryShape hashes what a cursor must be used with: the type, the filters
// and the sort (not the predicate: a cursor stays valid for its user while
// access changes, and never reveals more than the predicate admits).
func queryShape(t *policy.Type, q store.RecordQuery, s sortSpec) (string, error) {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			h.Write([]byte(strconv.Itoa(len(p))))
			h.Write([]byte{':'})
			h.Write([]byte(p))
		}
	}
	w("type", t.Name, "sort", s.name, "from", q.DateFrom, "to", q.DateTo)
	if q.Accounts != nil {
		accts := slices.Clone(q.Accounts)
		slices.Sort(accts)
		w("accounts", strconv.Itoa(len(accts)))
		w(accts...)
	}
	if q.UpdatedSince != nil {
		w("since", strconv.FormatInt(toMicros(*q.UpdatedSince), 10))
	}
	if q.Parent != nil {
		w("parent", q.Parent.Type, q.Parent.ID)
	}
	if q.Search != nil {
		w("search", strings.TrimSpace(q.Search.Text), strconv.Itoa(len(q.Search.Fields)))
		w(q.Search.Fields...)
	}
	rnames := make([]string, 0, len(q.Ranges))
	for name := range q.Ranges {
		rnames = append(rnames, name)
	}
	sort.Strings(rnames)
	for _, name := range rnames {
		rg := q.Ranges[name]
		w("range", name, fmt.Sprintf("%T:%v", rg.From, rg.From), fmt.Sprintf("%T:%v", rg.To, rg.To))
	}
	names := make([]string, 0, len(q.Attrs))
	for name := range q.Attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vals := make([]string, 0, len(q.Attrs[name]))
		for _, v := range q.Attrs[name] {
			vals = append(vals, fmt.Sprintf("%T:%v", v, v))
		}
		slices.Sort(vals)
		w("attr", name, strconv.Itoa(len(vals)))
		w(vals...)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// scanRecord reads the columns of recordCols, then extra.
func scanRecord(sc rowScanner, extra ...any) (*access.Record, error) {
	return newRowScan(false, extra...).scan(sc)
}

// rowScan reads the rows of one query into records: the destinations are
// allocated once per query instead of once per row (#14).
type rowScan struct {
	raw                        bool
	id, date, attrs            string
	owner, pid, teams, creator sql.NullString
	// typ and ptype are the record's and its parent's type; the records
	// share one string per distinct name across the query's rows (names):
	// a page's rows are of one type, their parents of one or two, and
	// decisions on records loaded in bulk (check-inproc) then read one
	// type name instead of one per record.
	typ               string
	ptype             sql.NullString
	names             []string
	updated, revision int64
	dest              []any
}

// newRowScan returns a scanner of recordCols and then extra; with raw set
// the attributes stay undecoded in Record.Raw.
func newRowScan(raw bool, extra ...any) *rowScan {
	rs := &rowScan{raw: raw}
	rs.dest = append([]any{&rs.typ, &rs.id, &rs.owner, &rs.date, &rs.ptype, &rs.pid, &rs.teams, &rs.creator, &rs.attrs, &rs.updated, &rs.revision}, extra...)
	return rs
}

// name returns the first string equal to s that the query returned (up
// to eight names; further ones are kept per row).
func (rs *rowScan) name(s string) string {
	for _, n := range rs.names {
		if n == s {
			return n
		}
	}
	if len(rs.names) < 8 {
		rs.names = append(rs.names, s)
	}
	return s
}

// scan reads the current row.
func (rs *rowScan) scan(sc rowScanner) (*access.Record, error) {
	if err := sc.Scan(rs.dest...); err != nil {
		return nil, err
	}
	r := &access.Record{Type: rs.name(rs.typ), ID: rs.id, Owner: rs.owner.String, Date: rs.date, Creator: rs.creator.String,
		UpdatedAt: fromMicros(rs.updated), Revision: rs.revision}
	if rs.pid.Valid {
		r.Parent = &access.Ref{Type: rs.name(rs.ptype.String), ID: rs.pid.String}
	}
	if rs.teams.Valid && rs.teams.String != "" {
		if err := json.Unmarshal([]byte(rs.teams.String), &r.Teams); err != nil {
			return nil, fmt.Errorf("record %s/%s: teams: %w", r.Type, r.ID, err)
		}
	}
	// The attributes were scanned as a string, which the driver allocated
	// for this row alone: Raw shares its bytes instead of copying them
	// (Raw is never written to, only read, decoded or copied out).
	attrs := []byte{}
	if rs.attrs != "" {
		attrs = unsafe.Slice(unsafe.StringData(rs.attrs), len(rs.attrs))
	}
	switch {
	case rs.raw:
		r.Raw = attrs
	case rs.attrs != "{}": // the heads of GetRecordHeads skip the decoder
		if err := json.Unmarshal(attrs, &r.Attributes); err != nil {
			return nil, fmt.Errorf("record %s/%s: attributes: %w", r.Type, r.ID, err)
		}
	}
	if r.Attributes == nil && r.Raw == nil {
		r.Attributes = map[string]any{}
	}
	return r, nil
}
