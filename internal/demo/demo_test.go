package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
	"github.com/portcullis-dev/portcullis/internal/store/follow"
	"github.com/portcullis-dev/portcullis/internal/store/sqlstore"
)

// testNow is the demo's "today": the store's clock and Seed's anchor.
var testNow = time.Date(2026, 6, 15, 10, 30, 0, 0, time.UTC)

var priceFields = []string{"price", "discount", "amount", "lines[].price", "lines[].discount", "lines[].amount"}

// testStore is a store with the engine a follower keeps in step with it.
type testStore struct {
	*sqlstore.Store
	f *follow.Follower
}

// Engine returns the store's engine.
func (s *testStore) Engine() *access.Engine { return s.f.Engine() }

func openStore(t *testing.T, dsn string) *testStore {
	t.Helper()
	clock := func() time.Time { return testNow }
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{Clock: clock})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := follow.Start(context.Background(), st, follow.Options{Clock: clock})
	if err != nil {
		t.Fatalf("follow: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return &testStore{Store: st, f: f}
}

// seeded is one demo store shared by the subtests (seeding is the slow part).
func seeded(t *testing.T) (*testStore, []Login) {
	t.Helper()
	st := openStore(t, filepath.Join(t.TempDir(), "demo.db"))
	start := time.Now()
	logins, err := Seed(context.Background(), st, st.Engine(), testNow)
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	t.Logf("Seed took %v (%d logins)", time.Since(start), len(logins))
	return st, logins
}

// src returns the record's parent chain as a RecordSource.
func src(t *testing.T, st store.Store, r *access.Record) access.RecordMap {
	t.Helper()
	m := access.RecordMap{}
	for p := r.Parent; p != nil; {
		got, err := st.GetRecords(context.Background(), []access.Ref{*p})
		if err != nil {
			t.Fatalf("GetRecords %v: %v", *p, err)
		}
		pr := got[*p]
		if pr == nil {
			break
		}
		m[*p] = pr
		p = pr.Parent
	}
	return m
}

func getRecord(t *testing.T, st store.Store, typ, id string) *access.Record {
	t.Helper()
	r, err := st.GetRecord(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("GetRecord %s/%s: %v", typ, id, err)
	}
	return r
}

// listAll pages through every record of typ the query selects.
func listAll(t *testing.T, st store.Store, q store.RecordQuery) []*access.Record {
	t.Helper()
	var out []*access.Record
	q.Limit = store.MaxListLimit
	for {
		page, next, err := st.ListRecords(context.Background(), q)
		if err != nil {
			t.Fatalf("ListRecords %s: %v", q.Type, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.Cursor = next
	}
}

// staffList lists every record of typ owned within accounts (nil: all).
func staffList(t *testing.T, st store.Store, typ string, accounts ...string) []*access.Record {
	return listAll(t, st, store.RecordQuery{Type: typ, Predicate: &access.Predicate{Type: typ, All: true}, Accounts: accounts, Sort: "-date"})
}

// userList lists the records of typ the user may read, as the portal does.
func userList(t *testing.T, st *testStore, user, typ string) []*access.Record {
	t.Helper()
	p, err := st.Engine().Predicate(user, typ, policy.Read)
	if err != nil {
		t.Fatalf("Predicate: %v", err)
	}
	if p.Empty() {
		return nil
	}
	return listAll(t, st, store.RecordQuery{Type: typ, Predicate: p, Sort: "-date"})
}

func check(t *testing.T, st *testStore, user string, r *access.Record, action policy.Actions) (bool, []string) {
	t.Helper()
	return st.Engine().Check(user, r, action, src(t, st, r))
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	st, logins := seeded(t)
	eng := st.Engine()

	t.Run("InvoiceStatus", func(t *testing.T) {
		// An invoice is overdue exactly when its due date has passed.
		today := testNow.Format(time.DateOnly)
		n := map[string]int{}
		for _, inv := range staffList(t, st, "invoice") {
			status, _ := inv.Attributes["status"].(string)
			due, _ := inv.Attributes["due_date"].(string)
			n[status]++
			if (status == "overdue") != (due < today) && status != "paid" {
				t.Errorf("invoice %s is %s with due date %s (today %s)", inv.ID, status, due, today)
			}
		}
		if n["overdue"] == 0 || n["open"] == 0 {
			t.Errorf("invoice statuses %v: want open and overdue ones", n)
		}
	})

	t.Run("Conversation", func(t *testing.T) {
		feed, _, err := st.ListComments(ctx, store.CommentFilter{Limit: 10})
		if err != nil || len(feed) != 3 || feed[0].Author != "U-TINA" || !feed[2].Internal {
			t.Fatalf("the demo's conversation: %+v, %v", feed, err)
		}
		tk, _ := st.GetRecord(ctx, "ticket", feed[0].Record.ID)
		if tk == nil || tk.Creator != "U-TINA" || !eng.Allowed("U-TINA", tk, policy.Update, nil) {
			t.Errorf("the conversation's ticket %+v is not Tina's to update", tk)
		}
		invs := staffList(t, st, "invoice")
		acme := map[string]bool{}
		for _, id := range eng.Subtree("C-ACME") {
			acme[id] = true
		}
		withPDF := 0
		for _, inv := range invs {
			files, err := st.ListFiles(ctx, access.Ref{Type: "invoice", ID: inv.ID})
			if err != nil {
				t.Fatal(err)
			}
			for _, info := range files {
				f, err := st.GetFile(ctx, info.Record, info.Name)
				if err != nil {
					t.Fatal(err)
				}
				if f.ContentType == "application/pdf" && acme[inv.Owner] && bytes.HasPrefix(f.Data, []byte("%PDF-")) {
					withPDF++
				}
			}
		}
		if withPDF != 3 {
			t.Errorf("%d Acme invoices have a PDF, want 3", withPDF)
		}
	})

	t.Run("Logins", func(t *testing.T) {
		if len(logins) < 15 {
			t.Errorf("%d logins, want every scenario covered", len(logins))
		}
		emails := map[string]bool{}
		verified := map[string]bool{} // one argon2 check per distinct hash
		for _, l := range logins {
			if emails[strings.ToLower(l.Email)] {
				t.Errorf("login %s listed twice", l.Email)
			}
			emails[strings.ToLower(l.Email)] = true
			if l.Password != Password || l.Name == "" || l.Shows == "" {
				t.Errorf("login %+v: want the demo password, a name and what it shows", l)
			}
			u, err := st.GetUserByEmail(ctx, l.Email)
			if err != nil {
				t.Errorf("login %s: %v", l.Email, err)
				continue
			}
			if u.Status != access.StatusActive || u.Name != l.Name {
				t.Errorf("login %s: user %+v, want active and named %q", l.Email, u, l.Name)
			}
			hash, err := st.PasswordHash(ctx, u.ID)
			if err != nil || hash == "" {
				t.Errorf("login %s: password hash %q, %v", l.Email, hash, err)
				continue
			}
			if !verified[hash+"\x00"+l.Password] {
				ok, err := auth.VerifyPassword(hash, l.Password)
				if !ok || err != nil {
					t.Errorf("login %s: password does not verify (%v)", l.Email, err)
				}
				verified[hash+"\x00"+l.Password] = true
			}
		}
		admin, err := st.GetUserByEmail(ctx, "admin@northwind.example")
		if err != nil || admin.Kind != access.KindInternal || admin.StaffRole != access.StaffAdmin || !emails["admin@northwind.example"] {
			t.Errorf("admin: %+v, %v; want an internal admin login", admin, err)
		}
		for _, role := range []string{access.StaffAccessManager, access.StaffAuditor} {
			found := false
			for _, l := range logins {
				if u, _ := st.GetUserByEmail(ctx, l.Email); u.StaffRole == role {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s login", role)
			}
		}
	})

	t.Run("PricesByRole", func(t *testing.T) {
		orders := staffList(t, st, "sales_order", "C-ACME")
		if len(orders) == 0 {
			t.Fatal("no Acme orders")
		}
		so := orders[0] // the newest
		if so.Owner != "C-ACME" {
			t.Fatalf("order %s owner %q, want C-ACME (filled from customer)", so.ID, so.Owner)
		}
		ok, fields := check(t, st, "U-ANNA", so, policy.Read)
		if !ok || len(fields) != 0 {
			t.Errorf("L20 Anna on %s: allowed %v fields %v; want allowed without price fields", so.ID, ok, fields)
		}
		ok, fields = check(t, st, "U-BEN", so, policy.Read)
		slices.Sort(fields)
		want := slices.Sorted(slices.Values(priceFields))
		if !ok || !slices.Equal(fields, want) {
			t.Errorf("L30 Ben on %s: allowed %v fields %v; want %v", so.ID, ok, fields, want)
		}
		v, ok := eng.View("U-ANNA", so, src(t, st, so))
		if !ok {
			t.Fatalf("Anna cannot view %s", so.ID)
		}
		if _, has := v.Attributes["price"]; has {
			t.Errorf("Anna's view of %s shows price", so.ID)
		}
		for _, l := range v.Attributes["lines"].([]any) {
			if _, has := l.(map[string]any)["price"]; has {
				t.Errorf("Anna's view of %s shows a line price", so.ID)
			}
		}
		if v, _ := eng.View("U-BEN", so, src(t, st, so)); v.Attributes["amount"] == nil {
			t.Errorf("Ben's view of %s lacks the amount", so.ID)
		}
		// L40 adds billing: Carla reads Acme invoices, Ben does not.
		inv := staffList(t, st, "invoice", "C-ACME")
		if len(inv) == 0 {
			t.Fatal("no Acme invoices")
		}
		if ok, _ := check(t, st, "U-CARLA", inv[0], policy.Read); !ok {
			t.Errorf("L40 Carla cannot read invoice %s", inv[0].ID)
		}
		if ok, _ := check(t, st, "U-BEN", inv[0], policy.Read); ok {
			t.Errorf("L30 Ben reads invoice %s", inv[0].ID)
		}
		// A shipment follows its order (sharing rule).
		shipped := map[string]*access.Record{}
		for _, r := range staffList(t, st, "shipment") {
			if r.Parent != nil {
				shipped[r.Parent.ID] = r
			}
		}
		var sh *access.Record
		for _, r := range orders {
			if sh = shipped[r.ID]; sh != nil {
				break
			}
		}
		if sh == nil {
			t.Fatal("no shipment of an Acme order")
		}
		if ok, _ := check(t, st, "U-ANNA", sh, policy.Read); !ok {
			t.Errorf("Anna cannot read shipment %s of an Acme order", sh.ID)
		}
	})

	t.Run("DaysBack", func(t *testing.T) {
		orders := staffList(t, st, "sales_order", "C-ACME")
		recent, old := orders[0], orders[len(orders)-1]
		cutoff := testNow.AddDate(0, 0, -90).Format(time.DateOnly)
		if recent.Date < cutoff || old.Date >= cutoff {
			t.Fatalf("want Acme orders on both sides of %s, got %s and %s", cutoff, recent.Date, old.Date)
		}
		if ok, _ := check(t, st, "U-RITA", recent, policy.Read); !ok {
			t.Errorf("Rita cannot read the recent order %s (%s)", recent.ID, recent.Date)
		}
		if ok, _ := check(t, st, "U-RITA", old, policy.Read); ok {
			t.Errorf("Rita reads the old order %s (%s)", old.ID, old.Date)
		}
		if ok, _ := check(t, st, "U-BEN", old, policy.Read); !ok {
			t.Errorf("Ben cannot read the old order %s", old.ID)
		}
		for _, r := range userList(t, st, "U-RITA", "sales_order") {
			if r.Date != "" && r.Date < cutoff {
				t.Errorf("Rita's list holds %s dated %s", r.ID, r.Date)
			}
		}
	})

	t.Run("MultiCustomer", func(t *testing.T) {
		roles := map[string]string{}
		for _, a := range eng.Reach("U-MAX") {
			roles[a.ID] = a.Role
		}
		if roles["C-GLOBEX"] != "L20" || roles["C-INITECH"] != "L30" {
			t.Errorf("Max's reach: %v; want C-GLOBEX L20 and C-INITECH L30", roles)
		}
		if _, ok := roles["C-ACME"]; ok {
			t.Errorf("Max reaches Acme")
		}
	})

	t.Run("CustomerAdminAndOwner", func(t *testing.T) {
		if lvl := eng.ManageLevel("U-DAVE", "C-ACME"); lvl != 80 {
			t.Errorf("Dave's manage level on Acme: %d, want 80", lvl)
		}
		if lvl := eng.ManageLevel("U-ANNA", "C-ACME"); lvl != -1 {
			t.Errorf("Anna's manage level on Acme: %d, want -1", lvl)
		}
		users, _, err := st.ListUsers(ctx, store.UserFilter{HomeAccounts: eng.Subtree("C-ACME"), Limit: 100})
		if err != nil || len(users) < 5 {
			t.Errorf("Dave's colleagues: %d users, %v", len(users), err)
		}
		grants, _, err := st.ListGrants(ctx, store.GrantFilter{Principal: "user:U-OLGA"})
		if err != nil || len(grants) != 1 || grants[0].Role != "L90" || grants[0].Account != "C-ACME" {
			t.Fatalf("Olga's grants: %+v, %v; want L90 on C-ACME", grants, err)
		}
		if err := eng.CheckGrant("U-ADMIN", &grants[0], nil); access.ErrorCode(err) != access.CodeProtected {
			t.Errorf("deleting the Owner grant as admin: %v, want protected", err)
		}
	})

	t.Run("SoldToGroup", func(t *testing.T) {
		g, err := st.GetGroup(ctx, access.AccountGroupID("C-ACME-ST1"))
		if err != nil {
			t.Fatalf("group acct:C-ACME-ST1: %v", err)
		}
		if g.Account != "C-ACME-ST1" || !slices.Contains(g.Members, "U-SAM") {
			t.Errorf("group acct:C-ACME-ST1: %+v; want account C-ACME-ST1 with U-SAM", g)
		}
		inv := userList(t, st, "U-SAM", "inventory")
		if len(inv) == 0 {
			t.Fatal("Sam sees no inventory")
		}
		for _, r := range inv {
			if r.Owner != "C-ACME-ST1" {
				t.Errorf("Sam sees inventory %s of %s", r.ID, r.Owner)
			}
		}
		if so := userList(t, st, "U-SAM", "sales_order"); len(so) != 0 {
			t.Errorf("L10 Sam sees %d sales orders", len(so))
		}
		for _, r := range userList(t, st, "U-SAM", "ticket") {
			if r.Creator != "U-SAM" {
				t.Errorf("Sam sees ticket %s created by %s", r.ID, r.Creator)
			}
		}
	})

	t.Run("Distributor", func(t *testing.T) {
		store1 := staffList(t, st, "sales_order", "D-CONTOSO-ST1")
		if len(store1) == 0 {
			t.Fatal("no Berlin store orders")
		}
		if ok, _ := check(t, st, "U-DIEGO", store1[0], policy.Read); !ok {
			t.Errorf("Diego cannot read store order %s", store1[0].ID)
		}
		var hidden, shared *access.Record
		for _, r := range staffList(t, st, "sales_order", ChainBrokenStore) {
			if len(r.Teams) > 0 {
				shared = r
			} else if hidden == nil {
				hidden = r
			}
		}
		if hidden == nil || shared == nil {
			t.Fatalf("Vienna orders: unshared %v, shared %v", hidden, shared)
		}
		if ok, _ := check(t, st, "U-DIEGO", hidden, policy.Read); ok {
			t.Errorf("Diego reads %s of the chain-broken store", hidden.ID)
		}
		if ok, _ := check(t, st, "U-STELLA", hidden, policy.Read); !ok {
			t.Errorf("Stella cannot read her store's order %s", hidden.ID)
		}
		if ok, _ := check(t, st, "U-DIEGO", shared, policy.Read); !ok {
			t.Errorf("Diego cannot read %s, shared with Contoso", shared.ID)
		}
		stores := map[string]int{}
		for _, r := range userList(t, st, "U-DIEGO", "sales_order") {
			stores[r.Owner]++
			if r.Owner == ChainBrokenStore && r.ID != shared.ID {
				t.Errorf("Diego's list holds %s of the chain-broken store", r.ID)
			}
		}
		if len(stores) < 6 {
			t.Errorf("Diego's orders come from %v; want the distributor and its stores", stores)
		}
	})

	t.Run("OnBehalf", func(t *testing.T) {
		hidden := getRecord(t, st, "sales_order", OnBehalfHidden)
		if hidden.Owner != "" || len(hidden.Teams) != 0 || hidden.Attributes["customer"] != nil {
			t.Errorf("%s: owner %q teams %v; want unowned and unshared", hidden.ID, hidden.Owner, hidden.Teams)
		}
		if v := eng.Viewers(hidden, access.RecordMap{}); len(v) != 0 {
			t.Errorf("%s viewers: %+v; want none", hidden.ID, v)
		}
		shared := getRecord(t, st, "sales_order", OnBehalfShared)
		viewers := map[string]bool{}
		for _, v := range eng.Viewers(shared, access.RecordMap{}) {
			viewers[v.User] = true
			if u, _ := eng.User(v.User); u.HomeAccount != "C-ACME" {
				t.Errorf("%s is readable by %s of %s", shared.ID, v.User, u.HomeAccount)
			}
		}
		for _, u := range []string{"U-ANNA", "U-BEN", "U-CARLA", "U-DAVE", "U-OLGA"} {
			if !viewers[u] {
				t.Errorf("%s is not readable by %s", shared.ID, u)
			}
		}
		if ok, _ := check(t, st, "U-ANNA", shared, policy.Update); ok {
			t.Errorf("Anna may update %s, shared read-only", shared.ID)
		}
	})

	t.Run("TicketUser", func(t *testing.T) {
		u, err := st.GetUser(ctx, "U-TINA")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(u.Constraints, TicketConstraints) || u.HomeAccount != "C-HOOLI-SITE1" {
			t.Errorf("Tina: home %s constraints %v; want C-HOOLI-SITE1 and %v", u.HomeAccount, u.Constraints, TicketConstraints)
		}
		access1 := map[string]string{}
		for _, g := range eng.UserGrants("U-TINA") {
			access1[g.Account] = g.Access
		}
		if access1["C-HOOLI-SITE1"] != access.AccessReadWrite || access1["C-HOOLI-SITE2"] != access.AccessRead {
			t.Errorf("Tina's grants: %v; want read_write on SITE1, read on SITE2", access1)
		}
		g, err := st.GetGroup(ctx, SupportEU)
		if err != nil || len(g.Members) == 0 {
			t.Errorf("group support-eu: %+v, %v; want an internal member", g, err)
		}
		var own, other *access.Record
		for _, r := range userList(t, st, "U-TINA", "ticket") {
			switch {
			case r.Owner == "C-HOOLI-SITE1" && r.Creator == "U-TINA":
				own = r
				if err := access.CheckConstraints(u, "ticket", r.Attributes); err != nil {
					t.Errorf("Tina's own ticket %s breaks her constraints: %v", r.ID, err)
				}
			case r.Owner == "C-HOOLI-SITE2":
				other = r
			case r.Owner != "C-HOOLI-SITE1":
				t.Errorf("Tina sees ticket %s of %s", r.ID, r.Owner)
			}
		}
		if own == nil || other == nil {
			t.Fatalf("Tina's tickets: own %v, Munich %v", own, other)
		}
		if ok, _ := check(t, st, "U-TINA", own, policy.Update); !ok {
			t.Errorf("Tina cannot update her ticket %s", own.ID)
		}
		if ok, _ := check(t, st, "U-TINA", other, policy.Update); ok {
			t.Errorf("Tina may update %s on the read-only site", other.ID)
		}
	})

	t.Run("SwitchOff", func(t *testing.T) {
		if r := eng.Reach("U-SID"); len(r) != 0 {
			t.Errorf("Sid reaches %+v with Stark's external access off", r)
		}
		orders := staffList(t, st, "sales_order", "C-STARK")
		if len(orders) == 0 {
			t.Fatal("no Stark orders")
		}
		x, err := eng.Explain("U-SID", orders[0], policy.Read, access.RecordMap{})
		if err != nil {
			t.Fatal(err)
		}
		codes := []string{}
		for _, r := range x.Reasons {
			codes = append(codes, r.Code)
		}
		if x.Allowed || !slices.Contains(codes, access.ReasonExternalAccessOff) {
			t.Errorf("explain Sid on %s: allowed %v reasons %v; want external_access_off", orders[0].ID, x.Allowed, codes)
		}
	})

	t.Run("Counts", func(t *testing.T) {
		accts, _, err := st.ListAccounts(ctx, store.AccountFilter{Limit: store.MaxListLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(accts) != len(world) {
			t.Errorf("%d accounts, want %d", len(accts), len(world))
		}
		for _, typ := range eng.Policy().Types() {
			n := len(staffList(t, st, typ.Name))
			t.Logf("%-12s %d", typ.Name, n)
			switch {
			case typ.Name == "account":
				if n != len(world) { // one master record per account
					t.Errorf("%d account records, want %d", n, len(world))
				}
			case n < 100 || n > 2000:
				t.Errorf("%d %s records, want a few hundred", n, typ.Name)
			}
		}
		if got := len(staffList(t, st, "sales_order", "C-ACME")); got < 30 {
			t.Errorf("Acme has %d orders", got)
		}
	})

	t.Run("NotEmpty", func(t *testing.T) {
		if _, err := Seed(ctx, st, st.Engine(), testNow); err == nil {
			t.Error("a second Seed into the same store succeeded")
		}
	})
}

// TestSeedDeterministic seeds two stores and compares what they hold.
func TestSeedDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds twice")
	}
	var got [2][]*access.Record
	for i := range got {
		st := openStore(t, filepath.Join(t.TempDir(), "demo.db"))
		if _, err := Seed(context.Background(), st, st.Engine(), testNow); err != nil {
			t.Fatal(err)
		}
		got[i] = staffList(t, st, "sales_order")
		for _, r := range got[i] {
			r.UpdatedAt, r.Revision = time.Time{}, 0
		}
	}
	if !reflect.DeepEqual(got[0], got[1]) {
		t.Error("two seeds differ")
	}
}
