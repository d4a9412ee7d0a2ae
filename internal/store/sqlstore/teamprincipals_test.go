package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// known reports whether the set is known.
func (tp *teamPrincipals) known() bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.set != nil
}

// TestTeamPrincipals follows two nodes' sets of principals with team
// entries through writes on both databases: a list through a team entry
// shows its record on the node that wrote it as soon as the write returns
// and on the other once it has caught up, whether the write was of a few
// records (their principals added) or of more than 100 (the set unknown,
// every principal sought, then loaded again); and a principal without
// entries gets no team branch once the set is known.
func TestTeamPrincipals(t *testing.T) {
	twoNodes(t, func(t *testing.T, a, b *Store) {
		ctx := context.Background()
		w := store.Write{Actor: "test"}
		for _, id := range []string{"X", "Y", "Z", "V", "W"} {
			if _, _, err := a.PutAccount(ctx, w, access.Account{ID: id, Name: id, Kind: "customer"}); err != nil {
				t.Fatal(err)
			}
		}
		shared := func(id, with string) *access.Record {
			r := salesOrder(id, "X", "2025-01-02", "open", 1)
			r.Teams = []access.TeamEntry{{Principal: "account:" + with, Access: access.AccessRead}}
			return r
		}
		put := func(s *Store, r *access.Record) {
			t.Helper()
			if _, _, err := s.PutRecord(ctx, w, r); err != nil {
				t.Fatal(err)
			}
		}
		query := func(acct string) store.RecordQuery {
			return store.RecordQuery{Type: "sales_order", Predicate: ownerPred("sales_order", []string{acct}), Sort: "-date", Limit: 50}
		}
		// seen lists as a user of acct (who owns nothing: team entries only).
		seen := func(s *Store, acct string) []string {
			t.Helper()
			recs, _, err := s.ListRecords(ctx, query(acct))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.ID)
			}
			slices.Sort(ids)
			return ids
		}
		catchUp := func() {
			t.Helper()
			if err := b.WaitRevision(ctx, a.Revision()); err != nil {
				t.Fatal(err)
			}
		}
		// loaded lists on s until its set is known (a list starts the
		// load, at most once a second).
		loaded := func(s *Store) {
			t.Helper()
			for deadline := time.Now().Add(10 * time.Second); !s.teams.known(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the team principals were not loaded")
				}
				seen(s, "Z")
			}
		}
		teamBranch := func(s *Store, acct string) bool {
			t.Helper()
			lq, err := build(s.dialect, s.policyNow().Type("sales_order"), query(acct), s.dialect.largeAccountSet(), nil, nil, &s.teams)
			if err != nil {
				t.Fatal(err)
			}
			return strings.Contains(lq.sql, "record_teams")
		}

		put(a, shared("SO1", "Y"))
		catchUp()
		if got := seen(b, "Y"); !slices.Equal(got, []string{"SO1"}) {
			t.Fatalf("b, as Y before its set is known: %v, want [SO1]", got)
		}
		loaded(a)
		loaded(b)
		if !teamBranch(b, "Y") || teamBranch(b, "Z") {
			t.Fatalf("team branch for Y %v (want true), for Z %v (want false: no entries)", teamBranch(b, "Y"), teamBranch(b, "Z"))
		}

		// A write of one record: its principal is added on both nodes.
		put(a, shared("SO2", "Z"))
		if got := seen(a, "Z"); !slices.Equal(got, []string{"SO2"}) {
			t.Errorf("a, as Z right after its write: %v, want [SO2]", got)
		}
		catchUp()
		if got := seen(b, "Z"); !slices.Equal(got, []string{"SO2"}) {
			t.Errorf("b, as Z after catching up: %v, want [SO2]", got)
		}
		if !a.teams.known() || !b.teams.known() {
			t.Errorf("a write of one record made the set unknown (a %v, b %v)", a.teams.known(), b.teams.known())
		}
		// The other node's write, written on b this time.
		put(b, shared("SO3", "V"))
		if err := a.WaitRevision(ctx, b.Revision()); err != nil {
			t.Fatal(err)
		}
		if got := seen(a, "V"); !slices.Equal(got, []string{"SO3"}) {
			t.Errorf("a, as V after catching up with b's write: %v, want [SO3]", got)
		}

		// A batch of 101: the set is unknown, then loaded again.
		batch := []*access.Record{shared("SO4", "W")}
		for i := range 100 {
			batch = append(batch, salesOrder(fmt.Sprintf("SO-B%03d", i), "Y", "2025-01-03", "open", 1))
		}
		recBatch(t, a, store.RecordBatch{Upsert: batch})
		catchUp()
		if a.teams.known() || b.teams.known() {
			t.Errorf("after a batch of 101 the set is still known (a %v, b %v)", a.teams.known(), b.teams.known())
		}
		for _, s := range []*Store{a, b} {
			if got := seen(s, "W"); !slices.Equal(got, []string{"SO4"}) {
				t.Errorf("as W after the batch: %v, want [SO4]", got)
			}
			loaded(s)
			if got := seen(s, "W"); !slices.Equal(got, []string{"SO4"}) || !teamBranch(s, "W") {
				t.Errorf("as W once the set is loaded again: %v, want [SO4]", got)
			}
		}
	})
}

// TestTeamPrincipalsLoadRace: a load under way when the set was
// forgotten (a bulk write) is dropped, since its snapshot may predate the
// write; one under way when principals were added keeps them; a load with
// nothing noted during it is kept as read.
func TestTeamPrincipalsLoadRace(t *testing.T) {
	for _, c := range []struct {
		name string
		note func(tp *teamPrincipals)
		want []string // nil: unknown after the load
	}{
		{"forget", func(tp *teamPrincipals) { tp.forget() }, nil},
		{"add", func(tp *teamPrincipals) { tp.add([]string{"account:B"}) }, []string{"account:A", "account:B"}},
		{"nothing", func(*teamPrincipals) {}, []string{"account:A"}},
	} {
		started, release := make(chan bool), make(chan bool)
		var tp teamPrincipals
		tp.start(func(context.Context) (map[string]struct{}, error) {
			started <- true
			<-release
			return map[string]struct{}{"account:A": {}}, nil
		})
		if !tp.wants() {
			tp.add([]string{"account:Z"}) // dropped: no load runs, the next one reads it
		}
		all := []string{"account:A", "account:B", "account:C", "account:Z"}
		if got := tp.filter(all); len(got) != len(all) {
			t.Fatalf("%s: the unknown set filtered to %v", c.name, got)
		}
		<-started
		if !tp.wants() {
			t.Fatalf("%s: a load runs but additions are not wanted", c.name)
		}
		c.note(&tp)
		release <- true
		tp.stop()
		if c.want == nil {
			if tp.known() {
				t.Errorf("%s: a load older than a forgetting was kept", c.name)
			}
			continue
		}
		if got := tp.filter(all); !slices.Equal(got, c.want) {
			t.Errorf("%s: filter after the load %v, want %v", c.name, got, c.want)
		}
	}
}
