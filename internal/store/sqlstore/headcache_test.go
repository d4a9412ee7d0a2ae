package sqlstore

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
)

// TestHeadCache checks the head cache's rules: a read that missed before
// a flush caches nothing (it may have read the state before the write the
// flush stands for), missing records are remembered as missing, and the
// cache never holds more than headCacheMax entries.
func TestHeadCache(t *testing.T) {
	var c headCache
	a, b := access.Ref{Type: "t", ID: "a"}, access.Ref{Type: "t", ID: "b"}
	ra := &access.Record{Type: "t", ID: "a", Owner: "old"}
	lookup := func() (access.RecordMap, []access.Ref, uint64) {
		out := access.RecordMap{}
		miss, gen := c.get([]access.Ref{a, b}, out)
		return out, miss, gen
	}
	_, miss, gen := lookup()
	if len(miss) != 2 {
		t.Fatalf("empty cache: misses %v, want both", miss)
	}
	c.flush() // a write commits between the read and its put
	c.put(gen, miss, access.RecordMap{a: ra})
	if _, miss, _ := lookup(); len(miss) != 2 {
		t.Errorf("a put older than a flush was kept: misses %v", miss)
	}
	_, miss, gen = lookup()
	c.put(gen, miss, access.RecordMap{a: ra})
	out, miss, _ := lookup()
	if len(miss) != 0 || out[a] != ra || out[b] != nil {
		t.Errorf("after a put: %v, misses %v; want a cached and b known missing", out, miss)
	}
	c.flush()
	if _, miss, _ := lookup(); len(miss) != 2 {
		t.Errorf("after a flush: misses %v, want both", miss)
	}

	refs := make([]access.Ref, 1000)
	for round := range headCacheMax/len(refs) + 3 {
		for i := range refs {
			refs[i] = access.Ref{Type: "t", ID: fmt.Sprintf("%d-%d", round, i)}
		}
		_, gen := c.get(refs, access.RecordMap{})
		c.put(gen, refs, access.RecordMap{})
		if n := len(c.heads) + len(c.missing); n > headCacheMax || n < len(refs) {
			t.Fatalf("round %d: %d entries (bound %d)", round, n, headCacheMax)
		}
	}
}

// twoNodes runs fn on two stores over one new database, as two nodes of
// one deployment: a SQLite file and a PostgreSQL database (skipped
// without PostgreSQL, failed in CI).
func twoNodes(t *testing.T, fn func(t *testing.T, a, b *Store)) {
	dsns := map[string]func(t *testing.T) string{
		"SQLite":     func(t *testing.T) string { return t.TempDir() + "/nodes.db" },
		"PostgreSQL": func(t *testing.T) string { return pgtest.DSN(t) },
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			d := dsn(t)
			fn(t, recOpen(t, d), recOpen(t, d))
		})
	}
}

// TestHeadCacheInvalidation follows a second node's head cache through
// the first node's writes: a write of a few records drops only their heads
// (others stay cached), a write of the access model drops none, and a
// batch of more than changeRecordsMax records empties the cache; each head
// read after catching up is the written one. On SQLite and PostgreSQL.
func TestHeadCacheInvalidation(t *testing.T) {
	twoNodes(t, func(t *testing.T, a, b *Store) {
		ctx := context.Background()
		w := store.Write{Actor: "test"}
		for _, id := range []string{"X", "Y", "Z"} {
			if _, _, err := a.PutAccount(ctx, w, access.Account{ID: id, Name: id, Kind: "customer"}); err != nil {
				t.Fatal(err)
			}
		}
		put := func(id, owner string) {
			t.Helper()
			if _, _, err := a.PutRecord(ctx, w, salesOrder(id, owner, "2025-01-02", "open", 1)); err != nil {
				t.Fatal(err)
			}
		}
		catchUp := func() {
			t.Helper()
			if err := b.WaitRevision(ctx, a.Revision()); err != nil {
				t.Fatal(err)
			}
		}
		so := func(id string) access.Ref { return access.Ref{Type: "sales_order", ID: id} }
		cached := func(id string) bool {
			b.heads.mu.RLock()
			defer b.heads.mu.RUnlock()
			_, ok := b.heads.heads[so(id)]
			return ok
		}
		owner := func(id string) string {
			t.Helper()
			got, err := b.DecisionHeads(ctx, []access.Ref{so(id)}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r := got[so(id)]; r != nil {
				return r.Owner
			}
			return "<missing>"
		}
		put("SO1", "X")
		put("SO2", "X")
		catchUp()
		if owner("SO1") != "X" || owner("SO2") != "X" || owner("SO3") != "<missing>" || !cached("SO1") || !cached("SO2") {
			t.Fatal("the second node did not cache SO1 and SO2")
		}

		put("SO1", "Y")
		put("SO3", "Y") // cached as missing
		catchUp()
		if cached("SO1") || !cached("SO2") {
			t.Errorf("after a write of SO1 and SO3: SO1 cached %v (want dropped), SO2 cached %v (want kept)", cached("SO1"), cached("SO2"))
		}
		if owner("SO1") != "Y" || owner("SO3") != "Y" || owner("SO2") != "X" {
			t.Errorf("after catching up: SO1 %s, SO3 %s, SO2 %s; want Y, Y, X", owner("SO1"), owner("SO3"), owner("SO2"))
		}

		if _, _, err := a.PutAccount(ctx, w, access.Account{ID: "Z", Name: "Zed", Kind: "customer"}); err != nil {
			t.Fatal(err)
		}
		staff := access.User{ID: "staff", Kind: access.KindInternal, Name: "Staff", Email: "staff@supplier.example",
			Status: access.StatusActive, StaffRole: "admin", Locale: access.LocaleDefault}
		if _, _, err := a.PutUser(ctx, w, staff); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.CreateToken(ctx, w, store.Token{UserID: "staff", Name: "erp", Hash: "h-erp"}); err != nil {
			t.Fatal(err) // a write without access-model rows (norecords)
		}
		catchUp()
		if !cached("SO1") || !cached("SO2") {
			t.Error("a write of the access model or of a token dropped record heads")
		}

		// Every path that writes records names them: a numbered
		// record and an import too.
		if _, err := a.CreateNumberedRecord(ctx, w, salesOrder("SO4", "X", "2025-01-02", "open", 1), store.Numbering{Prefix: "SO-N", Field: "number"}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ImportRecords(ctx, w, func() func() ([]*access.Record, error) {
			done := false
			return func() ([]*access.Record, error) {
				if done {
					return nil, io.EOF
				}
				done = true
				return []*access.Record{salesOrder("SO1", "X", "2025-01-02", "open", 1)}, nil
			}
		}()); err != nil {
			t.Fatal(err)
		}
		catchUp()
		if cached("SO1") || !cached("SO2") || owner("SO1") != "X" {
			t.Errorf("after an import of SO1: SO1 cached %v, owner %s; SO2 cached %v; want dropped, X, kept", cached("SO1"), owner("SO1"), cached("SO2"))
		}

		if _, err := a.DeleteRecord(ctx, w, "sales_order", "SO2"); err != nil {
			t.Fatal(err)
		}
		catchUp()
		if owner("SO2") != "<missing>" || !cached("SO1") {
			t.Errorf("after deleting SO2: SO2 %s, SO1 cached %v; want missing and kept", owner("SO2"), cached("SO1"))
		}

		var batch store.RecordBatch
		for i := range changeRecordsMax + 1 {
			batch.Upsert = append(batch.Upsert, salesOrder(fmt.Sprintf("B%03d", i), "Z", "2025-01-03", "open", 1))
		}
		batch.Upsert = append(batch.Upsert, salesOrder("SO1", "Z", "2025-01-03", "open", 1))
		if _, err := a.Batch(ctx, w, batch); err != nil {
			t.Fatal(err)
		}
		catchUp()
		if cached("SO1") {
			t.Error("a batch of more than changeRecordsMax records left SO1 cached")
		}
		if owner("SO1") != "Z" {
			t.Errorf("after the batch: SO1 %s, want Z", owner("SO1"))
		}
	})
}

// TestRecordChangesPruned: writes prune the record rows of change_log
// beyond the revisions kept, and a node that catches up over a pruned
// write reads the written head anyway (the revision names nothing, so its
// cache empties).
func TestRecordChangesPruned(t *testing.T) {
	ctx := context.Background()
	w := store.Write{Actor: "test"}
	d := t.TempDir() + "/prune.db"
	a, b := recOpen(t, d), recOpen(t, d)
	a.recordPrune.every, a.recordPrune.kept = 4, 3
	if _, _, err := a.PutAccount(ctx, w, access.Account{ID: "X", Name: "X", Kind: "customer"}); err != nil {
		t.Fatal(err)
	}
	put := func(id, owner string) {
		t.Helper()
		if _, _, err := a.PutRecord(ctx, w, salesOrder(id, owner, "2025-01-02", "open", 1)); err != nil {
			t.Fatal(err)
		}
	}
	ref := access.Ref{Type: "sales_order", ID: "SO1"}
	put("SO1", "X")
	if err := b.WaitRevision(ctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	if got, err := b.DecisionHeads(ctx, []access.Ref{ref}, 0); err != nil || got[ref] == nil || got[ref].Owner != "X" {
		t.Fatalf("second node: %v, %v", got, err)
	}
	if _, _, err := a.PutAccount(ctx, w, access.Account{ID: "Y", Name: "Y", Kind: "customer"}); err != nil {
		t.Fatal(err)
	}
	put("SO1", "Y")
	for i := range 12 {
		put(fmt.Sprintf("SO-%d", i), "X")
	}
	var n, oldest int64
	if err := a.db.QueryRow(`SELECT count(*), coalesce(min(revision), 0) FROM change_log WHERE kind = 'record'`).Scan(&n, &oldest); err != nil {
		t.Fatal(err)
	}
	if n > 8 || oldest < a.Revision()-8 {
		t.Errorf("%d record rows of change_log, the oldest at revision %d of %d: not pruned", n, oldest, a.Revision())
	}
	if err := b.WaitRevision(ctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	if got, err := b.DecisionHeads(ctx, []access.Ref{ref}, 0); err != nil || got[ref] == nil || got[ref].Owner != "Y" {
		t.Errorf("second node after catching up over a pruned write: %v, %v; want SO1 owned by Y", got[ref], err)
	}
}

// TestRecordWritesNoteTheirRecords guards the head cache's invalidation:
// every SQL statement of this package that writes records or record_teams
// is in a function that putRow, DeleteRecord, deleteRecords or
// upsertRecords (which call recordChanged) run, since a revision that
// writes records without naming them would otherwise log norecords and
// leave other nodes' heads stale. A new writer must note its records and
// join the list.
func TestRecordWritesNoteTheirRecords(t *testing.T) {
	allowed := map[string]bool{
		"putRow": true, "DeleteRecord": true, "deleteRecords": true, // note their records
		// reached only through upsertRecords:
		"postgresUpsert": true, "postgresUpdate": true, "copyRecords": true, "postgresTeams": true,
		"sqliteUpsert": true, "clearFoundTeams": true, "insertRows": true, "insertTeams": true,
		"postgresUpsertSQL": true, "insertSQL": true,
	}
	write := regexp.MustCompile(`(?is)(INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+(records|record_teams)\b`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range af.Decls {
			name := ""
			switch d := decl.(type) {
			case *ast.FuncDecl:
				name = d.Name.Name
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if vs, ok := spec.(*ast.ValueSpec); ok && len(vs.Names) > 0 {
						name = vs.Names[0].Name
					}
				}
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				bad := false
				switch n := n.(type) {
				case *ast.BasicLit:
					bad = n.Kind == token.STRING && write.MatchString(n.Value)
				case *ast.CompositeLit: // pgx.Identifier{"records"} of a COPY
					if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Identifier" {
						for _, e := range n.Elts {
							if l, ok := e.(*ast.BasicLit); ok && strings.Trim(l.Value, "\"`") == "records" {
								bad = true
							}
						}
					}
				}
				if bad {
					found++
					if !allowed[name] {
						t.Errorf("%s: %s writes records outside the functions that note them (recordChanged)", fset.Position(n.Pos()), name)
					}
				}
				return true
			})
		}
	}
	if found < 10 {
		t.Errorf("found only %d record-writing statements: the pattern no longer matches them", found)
	}
}
