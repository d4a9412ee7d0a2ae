package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/pgtest"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// randomWorld is a server over a random world: an account tree with
// switches and chain breaks, external users (some not active), groups,
// grants of every shape but protected ones, and records of many types
// with owners, dates, teams, creators and parents.
type randomWorld struct {
	env      *testEnv
	users    []string // external users
	accounts []string
	records  map[string][]string // type → ids
}

func newRandomWorld(t *testing.T, dsn string, seed uint64, nRecords int) *randomWorld {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 16))
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := follow.Start(ctx, st, follow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w := &randomWorld{records: map[string][]string{}}
	wr := store.Write{Actor: "test"}
	for i := range 24 {
		a := access.Account{ID: fmt.Sprintf("A%02d", i), Name: fmt.Sprintf("Account %d", i), Kind: "customer",
			ExternalAccess: rng.IntN(5) > 0, Inherit: rng.IntN(6) > 0}
		if i > 3 {
			a.Parent = w.accounts[rng.IntN(len(w.accounts))]
		}
		_, _, err := st.PutAccount(ctx, wr, a)
		must(err)
		w.accounts = append(w.accounts, a.ID)
	}
	for _, u := range []access.User{{ID: "admin", Kind: access.KindInternal, StaffRole: access.StaffAdmin},
		{ID: "auditor", Kind: access.KindInternal, StaffRole: access.StaffAuditor}} {
		u.Name, u.Email, u.Status = u.ID, u.ID+"@example.com", access.StatusActive
		_, _, err := st.PutUser(ctx, wr, u)
		must(err)
	}
	statuses := []string{access.StatusActive, access.StatusActive, access.StatusActive, access.StatusActive, access.StatusDisabled, access.StatusInvited}
	for i := range 40 {
		u := access.User{ID: fmt.Sprintf("x%02d", i), Kind: access.KindExternal, HomeAccount: w.accounts[rng.IntN(len(w.accounts))],
			Status: statuses[rng.IntN(len(statuses))]}
		u.Name, u.Email = u.ID, u.ID+"@example.com"
		_, _, err := st.PutUser(ctx, wr, u)
		must(err)
		w.users = append(w.users, u.ID)
	}
	var groups []string
	for i := range 4 {
		g := access.Group{ID: fmt.Sprintf("g%d", i), Name: fmt.Sprintf("Group %d", i)}
		_, _, err := st.PutGroup(ctx, wr, g)
		must(err)
		for range 6 {
			_, err := st.AddMember(ctx, wr, g.ID, w.users[rng.IntN(len(w.users))])
			must(err)
		}
		groups = append(groups, g.ID)
	}
	roles := []string{"L10", "L20", "L30", "L40", "L80"}
	now := time.Now().UTC()
	seen := map[[2]string]bool{}
	for range 90 {
		p := "user:" + w.users[rng.IntN(len(w.users))]
		if rng.IntN(5) == 0 {
			p = "group:" + groups[rng.IntN(len(groups))]
		}
		acct := w.accounts[rng.IntN(len(w.accounts))]
		if seen[[2]string{p, acct}] {
			continue
		}
		seen[[2]string{p, acct}] = true
		g := access.Grant{Principal: p, Account: acct, Role: roles[rng.IntN(len(roles))],
			Scope: access.ScopeSubtree, Access: access.AccessReadWrite}
		if rng.IntN(4) == 0 {
			g.Scope = access.ScopeAccount
		}
		if rng.IntN(3) == 0 {
			g.Access = access.AccessRead
		}
		if rng.IntN(4) == 0 {
			n := 30 + rng.IntN(300)
			g.DaysBack = &n
		}
		if rng.IntN(8) == 0 {
			until := now.Add(-time.Hour)
			g.ValidUntil = &until
		}
		_, _, err := st.CreateGrant(ctx, wr, g)
		must(err)
	}
	types := []string{"sales_order", "sales_order", "sales_order", "shipment", "invoice", "payment", "ticket"}
	parentOf := map[string]string{"shipment": "sales_order", "payment": "invoice"}
	var batch []*access.Record
	for i := range nRecords {
		typ := types[rng.IntN(len(types))]
		r := &access.Record{Type: typ, ID: fmt.Sprintf("R%05d", i), Attributes: map[string]any{"number": fmt.Sprintf("N%d", i)}}
		if rng.IntN(8) > 0 {
			r.Owner = w.accounts[rng.IntN(len(w.accounts))]
		}
		if rng.IntN(5) > 0 {
			r.Date = now.AddDate(0, 0, -rng.IntN(400)).Format(time.DateOnly)
		}
		if rng.IntN(6) == 0 {
			acc := access.AccessRead
			if rng.IntN(2) == 0 {
				acc = access.AccessReadWrite
			}
			pr := "account:" + w.accounts[rng.IntN(len(w.accounts))]
			if rng.IntN(2) == 0 {
				pr = "user:" + w.users[rng.IntN(len(w.users))]
			}
			r.Teams = []access.TeamEntry{{Principal: pr, Access: acc}}
		}
		if rng.IntN(3) == 0 {
			r.Creator = w.users[rng.IntN(len(w.users))]
		}
		if pt, ok := parentOf[typ]; ok && len(w.records[pt]) > 0 && rng.IntN(4) > 0 {
			r.Parent = &access.Ref{Type: pt, ID: w.records[pt][rng.IntN(len(w.records[pt]))]}
		}
		w.records[typ] = append(w.records[typ], r.ID)
		batch = append(batch, r)
	}
	for len(batch) > 0 {
		n := min(len(batch), 5000)
		_, err := st.Batch(ctx, store.Write{}, store.RecordBatch{Upsert: batch[:n]})
		must(err)
		batch = batch[n:]
	}
	srv := server.New(st, f.Engine(), server.Config{Version: "test"})
	_, secret, _, err := srv.App().CreateToken(ctx, app.SystemActor("test"), app.TokenRequest{User: "admin", Name: "tests"})
	must(err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	w.env = &testEnv{t: t, st: st, eng: f.Engine(), srv: hs, token: secret, server: srv}
	return w
}

// searchAll pages a search to its end, returning the ids (or action
// names) in the order answered.
func searchAll(t *testing.T, env *testEnv, path string, req map[string]any, limit int) []string {
	t.Helper()
	var out []string
	page := map[string]any{"limit": limit}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("search does not end")
		}
		req["page"] = page
		res := azPost(t, env, path, req)
		if res.status != 200 {
			t.Fatalf("%s: %d %s", path, res.status, res.body)
		}
		var body struct {
			Page struct {
				NextToken *string `json:"next_token"`
				Count     int     `json:"count"`
			} `json:"page"`
			Results []struct{ ID, Name string } `json:"results"`
		}
		if err := json.Unmarshal([]byte(res.body), &body); err != nil {
			t.Fatal(err)
		}
		if body.Page.NextToken == nil || body.Page.Count != len(body.Results) || len(body.Results) > limit {
			t.Fatalf("bad page: %s", res.body)
		}
		for _, r := range body.Results {
			out = append(out, r.ID+r.Name)
		}
		if *body.Page.NextToken == "" {
			return out
		}
		page = map[string]any{"limit": limit, "token": *body.Page.NextToken}
	}
}

// asUserList pages GET /api/v1/records/{type}?as_user= to its end.
func asUserList(t *testing.T, env *testEnv, typ, user string) []string {
	t.Helper()
	var out []string
	cursor := ""
	for {
		q := url.Values{"as_user": {user}, "limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		res := azDo(t, env.bearer(), "GET", "/api/v1/records/"+typ+"?"+q.Encode(), "", nil, nil)
		if res.status != 200 {
			t.Fatalf("as_user list: %d %s", res.status, res.body)
		}
		var body struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(res.body), &body); err != nil {
			t.Fatal(err)
		}
		for _, it := range body.Items {
			out = append(out, it.ID)
		}
		if body.Next == "" {
			return out
		}
		cursor = body.Next
	}
}

// checkIDs asserts that got is strictly ascending (no duplicates, a
// stable order) and is the same set as want.
func checkIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Errorf("%s: %q then %q: not strictly ascending (duplicate or unstable order)", what, got[i-1], got[i])
			return
		}
	}
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Errorf("%s: %d results, want %d (first difference near %v)", what, len(got), len(w), firstDiff(got, w))
	}
}

func firstDiff(a, b []string) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] + " / " + b[i]
		}
	}
	return fmt.Sprintf("index %d", min(len(a), len(b)))
}

// TestAuthZEN_Differential holds the AuthZEN answers to the API's on a
// random world of 10,000 records: every evaluation equals /api/v1/check
// (app.Check), a resource search paged to its end is exactly the as_user
// list (no duplicates, no gaps), and subject and action searches are
// exactly the users and actions check allows.
func TestAuthZEN_Differential(t *testing.T) {
	run := func(t *testing.T, dsn string) {
		w := newRandomWorld(t, dsn, 7, 10000)
		env := w.env
		ctx := context.Background()
		a := env.server.App()
		sys := app.SystemActor("test")
		rng := rand.New(rand.NewPCG(11, 3))
		actions := []string{"read", "update", "delete"}
		types := []string{"sales_order", "shipment", "invoice", "payment", "ticket"}
		subjects := append(slices.Clone(w.users), "admin", "auditor")

		// Evaluations (one boxcarred request) against app.Check.
		type triple struct{ user, action, typ, id string }
		var triples []triple
		items := []any{}
		for range 1000 {
			typ := types[rng.IntN(len(types))]
			tr := triple{subjects[rng.IntN(len(subjects))], actions[rng.IntN(3)], typ, w.records[typ][rng.IntN(len(w.records[typ]))]}
			triples = append(triples, tr)
			items = append(items, map[string]any{"subject": map[string]any{"type": "user", "id": tr.user},
				"action": map[string]any{"name": tr.action}, "resource": map[string]any{"type": tr.typ, "id": tr.id}})
		}
		res := azPost(t, env, "/access/v1/evaluations", map[string]any{"evaluations": items})
		var body struct {
			Evaluations []struct {
				Decision bool `json:"decision"`
			} `json:"evaluations"`
		}
		if err := json.Unmarshal([]byte(res.body), &body); err != nil || len(body.Evaluations) != len(triples) {
			t.Fatalf("evaluations: %v %d %s", err, res.status, res.body[:min(len(res.body), 300)])
		}
		allowed := 0
		for i, tr := range triples {
			want, err := a.Check(ctx, sys, app.CheckRequest{User: tr.user, Action: tr.action, Type: tr.typ, ID: tr.id})
			if err != nil {
				t.Fatal(err)
			}
			if body.Evaluations[i].Decision != want.Allowed {
				t.Errorf("evaluation %+v = %v, check says %v", tr, body.Evaluations[i].Decision, want.Allowed)
			}
			if want.Allowed {
				allowed++
			}
			if i%50 == 0 { // the single endpoint too
				r := azPost(t, env, "/access/v1/evaluation", items[i]).json(t)
				if r["decision"] != want.Allowed {
					t.Errorf("evaluation %+v = %v, check says %v", tr, r["decision"], want.Allowed)
				}
			}
		}
		if allowed == 0 || allowed == len(triples) {
			t.Errorf("%d of %d evaluations allowed: the world decides nothing", allowed, len(triples))
		}

		// Resource search for read, paged, against the as_user list.
		nonEmpty := 0
		for i, u := range append(w.users[:12:12], "auditor") {
			typ := "sales_order"
			if i%3 == 2 {
				typ = "shipment"
			}
			want := asUserList(t, env, typ, u)
			got := searchAll(t, env, "/access/v1/search/resource", map[string]any{"subject": map[string]any{"type": "user", "id": u},
				"action": map[string]any{"name": "read"}, "resource": map[string]any{"type": typ}}, 50+rng.IntN(451))
			checkIDs(t, "search/resource read "+u+" "+typ, got, want)
			t.Logf("search/resource read %s %s: %d records", u, typ, len(got))
			if len(want) > 0 {
				nonEmpty++
			}
		}
		// Staff read everything: the searches of every type, paged, add up
		// to the whole world, each its type's records exactly.
		total := 0
		for _, typ := range types {
			got := searchAll(t, env, "/access/v1/search/resource", map[string]any{"subject": map[string]any{"type": "user", "id": "auditor"},
				"action": map[string]any{"name": "read"}, "resource": map[string]any{"type": typ}}, 500)
			checkIDs(t, "search/resource read auditor "+typ, got, w.records[typ])
			total += len(got)
		}
		if total != 10000 {
			t.Errorf("staff search found %d of 10000 records", total)
		}
		if nonEmpty < 3 {
			t.Errorf("only %d users see records: the world is too dark", nonEmpty)
		}

		// Resource search for update and delete against check.
		for _, u := range w.users[12:18] {
			for _, act := range []string{"update", "delete"} {
				typ := "ticket"
				var want []string
				for _, id := range w.records[typ] {
					r, err := a.Check(ctx, sys, app.CheckRequest{User: u, Action: act, Type: typ, ID: id})
					if err != nil {
						t.Fatal(err)
					}
					if r.Allowed {
						want = append(want, id)
					}
				}
				got := searchAll(t, env, "/access/v1/search/resource", map[string]any{"subject": map[string]any{"type": "user", "id": u},
					"action": map[string]any{"name": act}, "resource": map[string]any{"type": typ}}, 7+rng.IntN(40))
				checkIDs(t, "search/resource "+act+" "+u, got, want)
			}
		}

		// Subject and action searches against check.
		for range 25 {
			typ := types[rng.IntN(len(types))]
			id := w.records[typ][rng.IntN(len(w.records[typ]))]
			act := actions[rng.IntN(3)]
			var want []string
			for _, u := range w.users {
				r, err := a.Check(ctx, sys, app.CheckRequest{User: u, Action: act, Type: typ, ID: id})
				if err != nil {
					t.Fatal(err)
				}
				if r.Allowed {
					want = append(want, u)
				}
			}
			got := searchAll(t, env, "/access/v1/search/subject", map[string]any{"subject": map[string]any{"type": "user"},
				"action": map[string]any{"name": act}, "resource": map[string]any{"type": typ, "id": id}}, 1+rng.IntN(5))
			checkIDs(t, "search/subject "+act+" "+typ+"/"+id, got, want)

			u := subjects[rng.IntN(len(subjects))]
			var acts []string
			for _, name := range actions {
				r, err := a.Check(ctx, sys, app.CheckRequest{User: u, Action: name, Type: typ, ID: id})
				if err != nil {
					t.Fatal(err)
				}
				if r.Allowed {
					acts = append(acts, name)
				}
			}
			gotActs := searchAll(t, env, "/access/v1/search/action", map[string]any{"subject": map[string]any{"type": "user", "id": u},
				"resource": map[string]any{"type": typ, "id": id}}, 1+rng.IntN(3))
			if !slices.Equal(gotActs, acts) {
				t.Errorf("search/action %s on %s/%s = %v, check says %v", u, typ, id, gotActs, acts)
			}
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, t.TempDir()+"/diff.db") })
	t.Run("postgres", func(t *testing.T) { run(t, pgtest.DSN(t)) })
}
