// Package demo fills an empty store with the demo world of `portcullis demo`:
// Northwind Supply, a supplier of industrial consumables, with its customers,
// a distributor and its stores, their portal users, and two years of orders,
// shipments, invoices, payments, inventory, balances, addresses, contacts and
// tickets. Every scenario of the five source documents (shared/seeds) has at
// least one demo login that shows it; Seed returns them.
//
// Decisions written down here (DESIGN.md is silent on them):
//
//   - The world is deterministic: math/rand/v2 with a fixed seed and every
//     date relative to the now passed to Seed, so two demos started on the
//     same day look the same and a demo started next year still has "recent"
//     orders.
//   - Seed writes only through the store's public methods, as the actor
//     "system", exactly as an ERP sync would: accounts (switching external
//     access on creates the acct:<id> groups and their L10 grants in the
//     store), users, one shared password hash, groups, grants, then every
//     record in all-or-nothing batches after FillRecord and ValidateRecord.
//   - Shipments and payments carry no owner: they are visible through the
//     default sharing rules (sales_order→shipment, invoice→payment), which is
//     what the demo means to show. Tickets, inventory, addresses, contacts,
//     balances and account records name their owner explicitly.
//   - Every demo login shares one password, Password, the staff admin's
//     included: it is a demo, and argon2id is deliberately slow, so the
//     password is hashed once and the hash reused for every user.
//   - Internal users who only play a part in the data (the support agents
//     the ticket groups hold, the salesperson who places orders on behalf of
//     customers) get no password and no staff role: they are not logins.
package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Password is the password of every demo login.
const Password = "portcullis-demo"

// Actor is the audit actor of every write Seed makes.
const Actor = "system:demo"

// The generator's fixed seed: the same world every time.
const seed1, seed2 = 0x4e57_5355_5050_4c59, 2026 // "NWSUPPLY"

// Login is one demo login and what signing in with it demonstrates.
type Login struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Shows    string `json:"shows"`
}

// Ids of records the demo's story (and its test) refers to.
const (
	// OnBehalfHidden is an order a Northwind salesperson placed on behalf of
	// Acme: no owner, no team, so no external user sees it (seed 004).
	OnBehalfHidden = "SO-ONBEHALF-1"
	// OnBehalfShared is the same kind of order shared with the whole Acme
	// company through External Related Teams, read-only.
	OnBehalfShared = "SO-ONBEHALF-2"
)

// Seed fills an empty store with the demo world and returns the demo logins,
// staff first. It fails, writing nothing, when the store already holds
// accounts or users. now anchors every date: orders span the two years
// before it. eng is the access engine kept in step with st (package
// follow): Seed checks its grants against it and fills records with it.
func Seed(ctx context.Context, st store.Store, eng *access.Engine, now time.Time) ([]Login, error) {
	if accts, _, err := st.ListAccounts(ctx, store.AccountFilter{Limit: 1}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	} else if len(accts) > 0 {
		return nil, fmt.Errorf("demo: the store is not empty (it has accounts)")
	}
	if users, _, err := st.ListUsers(ctx, store.UserFilter{Limit: 1}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	} else if len(users) > 0 {
		return nil, fmt.Errorf("demo: the store is not empty (it has users)")
	}
	hash, err := auth.HashPassword(Password)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	now = now.UTC()
	b := &builder{
		ctx: ctx, st: st, eng: eng, now: now, hash: hash,
		today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
		rng:   rand.New(rand.NewPCG(seed1, seed2)),
		accts: map[string]*acctSpec{}, seen: map[access.Ref]bool{},
	}
	b.accounts()
	b.users()
	b.groups()
	b.grants()
	b.makeRecords()
	b.flush()
	b.conversations()
	if b.err != nil {
		return nil, fmt.Errorf("demo: %w", b.err)
	}
	return b.logins, nil
}

// builder carries the world being written. Its first error sticks: every
// later step does nothing, and Seed reports it.
type builder struct {
	ctx   context.Context
	st    store.Store
	eng   *access.Engine
	now   time.Time
	today time.Time
	rng   *rand.Rand
	hash  string
	err   error

	accts   map[string]*acctSpec
	order   []*acctSpec
	logins  []Login
	records []*access.Record
	seen    map[access.Ref]bool

	invoices []invoiceInfo
	tickets  int
}

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

// ---------------------------------------------------------------------------
// Accounts

// acctSpec is one account of the demo tree.
type acctSpec struct {
	ID, Name, Kind, Parent string
	External, NoInherit    bool
	City, Country          string
	// root is the customer or distributor the account belongs to.
	root *acctSpec
}

// company is what the demo knows of a customer or distributor.
type company struct {
	domain, currency, region string // region: eu or us (support team, warehouse)
	street                   []string
}

var companies = map[string]company{
	"C-ACME":     {"acme.example", "GBP", "eu", []string{"Kirkstall Road", "Aire Street", "Temple Gate", "Harbour Way"}},
	"C-GLOBEX":   {"globex.example", "EUR", "eu", []string{"Waalhaven Z.z.", "Noordsingel", "Havenstraat"}},
	"C-INITECH":  {"initech.example", "USD", "us", []string{"Congress Avenue", "Research Blvd", "Elm Street"}},
	"C-HOOLI":    {"hooli.example", "EUR", "eu", []string{"Am Sandtorkai", "Hafenstraße", "Lagerweg"}},
	"C-WAYNE":    {"wayne.example", "USD", "us", []string{"Liberty Avenue", "Smithfield Street", "Market Street"}},
	"C-UMBRELLA": {"umbrella.example", "CHF", "eu", []string{"Rheinweg", "Hochstrasse", "Industriestrasse"}},
	"C-STARK":    {"stark.example", "EUR", "eu", []string{"Rue de la République", "Quai Perrache", "Avenue du Prado"}},
	"C-WONKA":    {"wonka.example", "EUR", "eu", []string{"Korenmarkt", "Dok Noord"}},
	"D-CONTOSO":  {"contoso.example", "EUR", "eu", []string{"Leopoldstraße", "Hauptstraße", "Bahnhofstraße", "Ringstraße"}},
}

// world is the account tree, parents first. Switches: most customers are
// on; Stark and Wonka are not onboarded yet. The sold-to Acme North is on
// by itself (its own group, seed 000), the Hooli sites carry the ticket
// user's grants, and the Contoso Vienna franchise breaks the chain.
var world = []acctSpec{
	{ID: "C-ACME", Name: "Acme Manufacturing", Kind: "customer", External: true, City: "Leeds", Country: "GB"},
	{ID: "C-ACME-ST1", Name: "Acme North", Kind: "sold_to", Parent: "C-ACME", External: true, City: "Newcastle", Country: "GB"},
	{ID: "C-ACME-ST2", Name: "Acme South", Kind: "sold_to", Parent: "C-ACME", City: "Southampton", Country: "GB"},
	{ID: "C-ACME-SITE1", Name: "Acme Plant Leeds", Kind: "site", Parent: "C-ACME", City: "Leeds", Country: "GB"},
	{ID: "C-ACME-SITE2", Name: "Acme Plant Bristol", Kind: "site", Parent: "C-ACME", City: "Bristol", Country: "GB"},

	{ID: "C-GLOBEX", Name: "Globex Retail", Kind: "customer", External: true, City: "Rotterdam", Country: "NL"},
	{ID: "C-GLOBEX-ST1", Name: "Globex Benelux", Kind: "sold_to", Parent: "C-GLOBEX", City: "Antwerp", Country: "BE"},
	{ID: "C-GLOBEX-SITE1", Name: "Globex DC Rotterdam", Kind: "site", Parent: "C-GLOBEX", City: "Rotterdam", Country: "NL"},

	{ID: "C-INITECH", Name: "Initech Systems", Kind: "customer", External: true, City: "Austin", Country: "US"},
	{ID: "C-INITECH-ST1", Name: "Initech Field Services", Kind: "sold_to", Parent: "C-INITECH", City: "Dallas", Country: "US"},
	{ID: "C-INITECH-SITE1", Name: "Initech HQ Austin", Kind: "site", Parent: "C-INITECH", City: "Austin", Country: "US"},
	{ID: "C-INITECH-SITE2", Name: "Initech Lab Dallas", Kind: "site", Parent: "C-INITECH", City: "Dallas", Country: "US"},

	{ID: "C-HOOLI", Name: "Hooli Logistics", Kind: "customer", External: true, City: "Hamburg", Country: "DE"},
	{ID: "C-HOOLI-ST1", Name: "Hooli Freight", Kind: "sold_to", Parent: "C-HOOLI", City: "Bremen", Country: "DE"},
	{ID: "C-HOOLI-SITE1", Name: "Hooli Hub Hamburg", Kind: "site", Parent: "C-HOOLI", External: true, City: "Hamburg", Country: "DE"},
	{ID: "C-HOOLI-SITE2", Name: "Hooli Hub Munich", Kind: "site", Parent: "C-HOOLI", External: true, City: "Munich", Country: "DE"},

	{ID: "C-WAYNE", Name: "Wayne Fabrication", Kind: "customer", External: true, City: "Pittsburgh", Country: "US"},
	{ID: "C-WAYNE-ST1", Name: "Wayne Fabrication East", Kind: "sold_to", Parent: "C-WAYNE", City: "Philadelphia", Country: "US"},
	{ID: "C-WAYNE-SITE1", Name: "Wayne Works Pittsburgh", Kind: "site", Parent: "C-WAYNE", City: "Pittsburgh", Country: "US"},

	{ID: "C-UMBRELLA", Name: "Umbrella Pharma", Kind: "customer", External: true, City: "Basel", Country: "CH"},
	{ID: "C-UMBRELLA-ST1", Name: "Umbrella Pharma Zurich", Kind: "sold_to", Parent: "C-UMBRELLA", City: "Zurich", Country: "CH"},
	{ID: "C-UMBRELLA-SITE1", Name: "Umbrella Plant Basel", Kind: "site", Parent: "C-UMBRELLA", City: "Basel", Country: "CH"},

	{ID: "C-STARK", Name: "Stark Components", Kind: "customer", City: "Lyon", Country: "FR"},
	{ID: "C-STARK-ST1", Name: "Stark Components Sud", Kind: "sold_to", Parent: "C-STARK", City: "Marseille", Country: "FR"},
	{ID: "C-STARK-SITE1", Name: "Stark Usine Lyon", Kind: "site", Parent: "C-STARK", City: "Lyon", Country: "FR"},

	{ID: "C-WONKA", Name: "Wonka Foods", Kind: "customer", City: "Ghent", Country: "BE"},
	{ID: "C-WONKA-SITE1", Name: "Wonka Factory Ghent", Kind: "site", Parent: "C-WONKA", City: "Ghent", Country: "BE"},

	{ID: "D-CONTOSO", Name: "Contoso Distribution", Kind: "distributor", External: true, City: "Munich", Country: "DE"},
	{ID: "D-CONTOSO-ST1", Name: "Contoso Store Berlin", Kind: "store", Parent: "D-CONTOSO", City: "Berlin", Country: "DE"},
	{ID: "D-CONTOSO-ST2", Name: "Contoso Store Cologne", Kind: "store", Parent: "D-CONTOSO", City: "Cologne", Country: "DE"},
	{ID: "D-CONTOSO-ST3", Name: "Contoso Store Frankfurt", Kind: "store", Parent: "D-CONTOSO", City: "Frankfurt", Country: "DE"},
	{ID: "D-CONTOSO-ST4", Name: "Contoso Store Stuttgart", Kind: "store", Parent: "D-CONTOSO", City: "Stuttgart", Country: "DE"},
	{ID: "D-CONTOSO-ST5", Name: "Contoso Store Leipzig", Kind: "store", Parent: "D-CONTOSO", City: "Leipzig", Country: "DE"},
	// A franchise: it buys through Contoso but keeps its orders to itself.
	{ID: "D-CONTOSO-ST6", Name: "Contoso Store Vienna (franchise)", Kind: "store", Parent: "D-CONTOSO", External: true, NoInherit: true, City: "Vienna", Country: "AT"},
}

// ChainBrokenStore is the store whose inherit is false: the distributor's
// grant does not reach it (seed 004, DESIGN.md §1 Accounts).
const ChainBrokenStore = "D-CONTOSO-ST6"

func (b *builder) accounts() {
	for i := range world {
		a := world[i] // a copy: the package-level world stays untouched
		a.root = &a
		if a.Parent != "" {
			a.root = b.accts[a.Parent].root
		}
		b.accts[a.ID] = &a
		b.order = append(b.order, &a)
		if b.err != nil {
			continue
		}
		_, _, err := b.st.PutAccount(b.ctx, store.Write{Actor: Actor}, access.Account{ID: a.ID, Name: a.Name, Kind: a.Kind,
			Parent: a.Parent, ExternalAccess: a.External, Inherit: !a.NoInherit})
		if err != nil {
			b.fail("account %s: %w", a.ID, err)
		}
	}
}

func (b *builder) company(acct string) company { return companies[b.accts[acct].root.ID] }

// ---------------------------------------------------------------------------
// Users, groups and grants

// person is an external demo user.
type person struct {
	ID, Name, Email, Home string
	Status                string // "" is active
	Constraints           map[string]map[string][]string
	// Shows, when set, makes the person a demo login.
	Shows string
}

var staff = []struct {
	ID, Name, Email, Role, Shows string
}{
	{"U-ADMIN", "Olivia Hart", "admin@northwind.example", access.StaffAdmin,
		"Staff admin: the whole console — accounts tree and External Access panels, users, groups, policy editor, access checker (who can see what, and why), view as, audit log"},
	{"U-MARCUS", "Marcus Webb", "marcus.webb@northwind.example", access.StaffAccessManager,
		"Access manager: switches external access, manages users, groups and grants; cannot change the policy or create admins"},
	{"U-PRIYA", "Priya Shah", "priya.shah@northwind.example", access.StaffAuditor,
		"Auditor: reads everything (records, grants, explain, audit log and its hash chain), changes nothing"},
	// Not logins: people the data refers to.
	{"U-LENA", "Lena Fischer", "lena.fischer@northwind.example", "", ""}, // support-eu
	{"U-JOSE", "José Ramírez", "jose.ramirez@northwind.example", "", ""}, // support-us
	{"U-SOFIA", "Sofia Marin", "sofia.marin@northwind.example", "", ""},  // sales: orders on behalf of customers
}

// TicketConstraints are the ticket user's constraints (seed 002).
var TicketConstraints = map[string]map[string][]string{
	"ticket": {
		"type":        {"incident", "question"},
		"status":      {"new", "closed"},
		"responsible": {"group:support-eu"},
	},
}

var people = []person{
	// Acme: the ERP ladder on one company (seed 001).
	{ID: "U-ANNA", Name: "Anna Larsen", Email: "anna.l20@acme.example", Home: "C-ACME",
		Shows: "L20 Orders on Acme: orders and shipments, but no price, discount or amount anywhere (not even as a filter); inventory, addresses, contacts; every Acme ticket; sees the on-behalf order Northwind shared with Acme"},
	{ID: "U-BEN", Name: "Ben Okafor", Email: "ben.l30@acme.example", Home: "C-ACME",
		Shows: "L30 Orders with Prices on Acme: the same orders as Anna, with prices, discounts, amounts and line prices"},
	{ID: "U-CARLA", Name: "Carla Mendes", Email: "carla.l40@acme.example", Home: "C-ACME",
		Shows: "L40 Billing on Acme: adds invoices, payments (shared from invoices) and monthly balances"},
	{ID: "U-DAVE", Name: "Dave Whitfield", Email: "dave.admin@acme.example", Home: "C-ACME",
		Shows: "L80 customer admin of Acme: \"Company users\" (Anna, Ben, Carla, Rita, Kim, Sam...; the Owner row locked), invites users and hands out roles up to L80, places orders in the portal"},
	{ID: "U-OLGA", Name: "Olga Brandt", Email: "olga.owner@acme.example", Home: "C-ACME",
		Shows: "L90 Owner of Acme: everything the admin has; her grant can never be revoked, lowered or narrowed, not even by Northwind's admins"},
	{ID: "U-RITA", Name: "Rita Haddad", Email: "rita.recent@acme.example", Home: "C-ACME",
		Shows: "L30 on Acme with days_back 90: only orders (and their shipments) from the last 90 days"},
	{ID: "U-KIM", Name: "Kim Novak", Email: "kim.audit@acme.example", Home: "C-ACME",
		Shows: "L40 on Acme valid for 30 more days only (valid_until): the year-end auditor's temporary access"},
	{ID: "U-LARS", Name: "Lars Eriksen", Email: "lars.former@acme.example", Home: "C-ACME", Status: access.StatusDisabled},
	// Acme North: the sold-to group (seed 000).
	{ID: "U-SAM", Name: "Sam Turner", Email: "sam.north@acme.example", Home: "C-ACME-ST1",
		Shows: "Member of the group acct:C-ACME-ST1 created by switching on the sold-to Acme North: L10 Basic there only — Acme North's inventory, addresses and contacts, and his own tickets; nothing of Acme's other sold-tos"},
	// One person, two customers (seed 001 multi-customer login).
	{ID: "U-MAX", Name: "Max Weber", Email: "max.multi@globex.example", Home: "C-GLOBEX",
		Shows: "Multi-customer: L20 on Globex (no prices) and L30 on Initech (prices); the account switcher lists both"},
	{ID: "U-IVAN", Name: "Ivan Petrov", Email: "ivan.l40@initech.example", Home: "C-INITECH",
		Shows: "L40 Billing on Initech: orders with prices, invoices, payments, balances"},
	// Hooli: a ticket user tied to a site (seed 002).
	{ID: "U-TINA", Name: "Tina Vogel", Email: "tina.tickets@hooli.example", Home: "C-HOOLI-SITE1", Constraints: TicketConstraints,
		Shows: "Ticket user homed at Hooli Hub Hamburg: read-write there, read-only on Hooli Hub Munich; new tickets only of type incident/question, status new/closed, assigned to group:support-eu"},
	{ID: "U-HANS", Name: "Hans Becker", Email: "hans.munich@hooli.example", Home: "C-HOOLI-SITE2",
		Shows: "L20 on Hooli Hub Munich: the other site's tickets, which Tina can read but not change"},
	{ID: "U-UMA", Name: "Uma Patel", Email: "uma.l10@umbrella.example", Home: "C-UMBRELLA",
		Shows: "L10 Basic on Umbrella: inventory, addresses, contacts, and only the tickets she opened herself"},
	// Contoso: upstream/downstream (seed 004).
	{ID: "U-DIEGO", Name: "Diego Álvarez", Email: "diego.distributor@contoso.example", Home: "D-CONTOSO",
		Shows: "L30 on the distributor Contoso: every store's orders (upstream sees downstream) — except the Vienna franchise (inherit off), of which he sees only the one order it shared with Contoso"},
	{ID: "U-STELLA", Name: "Stella Huber", Email: "stella.vienna@contoso.example", Home: "D-CONTOSO-ST6",
		Shows: "L20 on the Vienna franchise store: its own orders, which head office does not see"},
	// External access still off.
	{ID: "U-SID", Name: "Sid Moreau", Email: "sid.stark@stark.example", Home: "C-STARK",
		Shows: "L20 on Stark Components, whose external access is still off: sees nothing (explain says external_access_off)"},
}

func (b *builder) users() {
	for _, s := range staff {
		b.putUser(access.User{ID: s.ID, Kind: access.KindInternal, Name: s.Name, Email: s.Email,
			Status: access.StatusActive, StaffRole: s.Role}, s.Shows)
	}
	for _, p := range people {
		status := p.Status
		if status == "" {
			status = access.StatusActive
		}
		b.putUser(access.User{ID: p.ID, Kind: access.KindExternal, Name: p.Name, Email: p.Email,
			HomeAccount: p.Home, Status: status, Constraints: p.Constraints}, p.Shows)
	}
}

func (b *builder) putUser(u access.User, shows string) {
	if b.err != nil {
		return
	}
	if _, _, err := b.st.PutUser(b.ctx, store.Write{Actor: Actor}, u); err != nil {
		b.fail("user %s: %w", u.ID, err)
		return
	}
	if shows == "" && u.Status == access.StatusActive && u.Kind == access.KindInternal {
		return // a person of the data, not a login
	}
	// Disabled users get the password too: re-enabling one is part of the demo.
	if _, err := b.st.SetPassword(b.ctx, store.Write{Actor: Actor}, u.ID, b.hash); err != nil {
		b.fail("password of %s: %w", u.ID, err)
		return
	}
	if shows != "" && u.Status == access.StatusActive {
		b.logins = append(b.logins, Login{Email: u.Email, Password: Password, Name: u.Name, Shows: shows})
	}
}

// Support groups: internal teams tickets are assigned to.
const (
	SupportEU = "support-eu"
	SupportUS = "support-us"
)

func (b *builder) groups() {
	if b.err != nil {
		return
	}
	for _, g := range []struct{ id, name, member string }{
		{SupportEU, "Support Europe", "U-LENA"},
		{SupportUS, "Support Americas", "U-JOSE"},
	} {
		if _, _, err := b.st.PutGroup(b.ctx, store.Write{Actor: Actor}, access.Group{ID: g.id, Name: g.name}); err != nil {
			b.fail("group %s: %w", g.id, err)
			return
		}
		if _, err := b.st.AddMember(b.ctx, store.Write{Actor: Actor}, g.id, g.member); err != nil {
			b.fail("member %s of %s: %w", g.member, g.id, err)
			return
		}
	}
	// Seed 000: the switch on Acme North created its group; add Sam to it.
	if _, err := b.st.AddMember(b.ctx, store.Write{Actor: Actor}, access.AccountGroupID("C-ACME-ST1"), "U-SAM"); err != nil {
		b.fail("member U-SAM of acct:C-ACME-ST1: %w", err)
	}
}

func (b *builder) grants() {
	days90 := 90
	kimUntil := b.today.AddDate(0, 0, 31)
	list := []access.Grant{
		{Principal: "user:U-ANNA", Account: "C-ACME", Role: "L20", Notes: "Purchasing: orders and shipments, no prices"},
		{Principal: "user:U-BEN", Account: "C-ACME", Role: "L30", Notes: "Purchasing lead: orders with prices"},
		{Principal: "user:U-CARLA", Account: "C-ACME", Role: "L40", Notes: "Accounts payable"},
		{Principal: "user:U-DAVE", Account: "C-ACME", Role: "L80", Notes: "Customer admin: manages Acme's portal users"},
		{Principal: "user:U-OLGA", Account: "C-ACME", Role: "L90", Notes: "Owner of the Acme relationship (signed the portal agreement)"},
		{Principal: "user:U-RITA", Account: "C-ACME", Role: "L30", DaysBack: &days90, Notes: "Production planner: recent orders only"},
		{Principal: "user:U-KIM", Account: "C-ACME", Role: "L40", ValidUntil: &kimUntil, Notes: "External auditor, year-end close"},
		{Principal: "user:U-LARS", Account: "C-ACME", Role: "L30", Notes: "Left Acme; user disabled, grant kept for the record"},
		{Principal: "user:U-MAX", Account: "C-GLOBEX", Role: "L20", Notes: "Globex purchasing"},
		{Principal: "user:U-MAX", Account: "C-INITECH", Role: "L30", Notes: "Runs Initech's purchasing under a shared-services contract"},
		{Principal: "user:U-IVAN", Account: "C-INITECH", Role: "L40", Notes: "Initech finance"},
		{Principal: "user:U-TINA", Account: "C-HOOLI-SITE1", Role: "L20", Notes: "Site contact, Hamburg hub"},
		{Principal: "user:U-TINA", Account: "C-HOOLI-SITE2", Role: "L20", Access: access.AccessRead, Notes: "Read permission on the Munich hub"},
		{Principal: "user:U-HANS", Account: "C-HOOLI-SITE2", Role: "L20", Notes: "Site contact, Munich hub"},
		{Principal: "user:U-UMA", Account: "C-UMBRELLA", Role: "L10", Notes: "Stores clerk"},
		{Principal: "user:U-DIEGO", Account: "D-CONTOSO", Role: "L30", Notes: "Head office purchasing: all stores"},
		{Principal: "user:U-STELLA", Account: "D-CONTOSO-ST6", Role: "L20", Notes: "Franchise store manager"},
		{Principal: "user:U-SID", Account: "C-STARK", Role: "L20", Notes: "Prepared for go-live; Stark's external access is still off"},
	}
	for _, g := range list {
		if b.err != nil {
			return
		}
		// The rules staff are held to (a protected grant is created whole).
		check := func() error { return b.eng.CheckGrant("U-ADMIN", nil, &g) }
		if _, _, err := b.st.CreateGrant(b.ctx, store.Write{Actor: Actor, Check: check}, g); err != nil {
			b.fail("grant %s on %s: %w", g.Principal, g.Account, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Records

// add fills and validates a record and queues it for the batch.
// explicitOwner says whether r.Owner is given (else owner_field fills it).
func (b *builder) add(r *access.Record, explicitOwner bool) {
	if b.err != nil {
		return
	}
	e := b.eng
	if err := e.FillRecord(r, explicitOwner, false); err != nil {
		b.fail("record %s/%s: %w", r.Type, r.ID, err)
		return
	}
	if err := e.ValidateRecord(r); err != nil {
		b.fail("record %s/%s: %w", r.Type, r.ID, err)
		return
	}
	ref := access.Ref{Type: r.Type, ID: r.ID}
	if b.seen[ref] {
		b.fail("record %s/%s twice", r.Type, r.ID)
		return
	}
	b.seen[ref] = true
	b.records = append(b.records, r)
}

// flush writes the queued records, store.MaxBatch at a time.
func (b *builder) flush() {
	for len(b.records) > 0 && b.err == nil {
		n := min(len(b.records), store.MaxBatch)
		if _, err := b.st.Batch(b.ctx, store.Write{}, store.RecordBatch{Upsert: b.records[:n]}); err != nil {
			b.fail("records: %w", err)
			return
		}
		b.records = b.records[n:]
	}
}

func (b *builder) makeRecords() {
	if b.err != nil {
		return
	}
	b.accountRecords()
	b.addresses()
	b.contacts()
	b.inventory()
	b.orders()
	b.balances()
	b.ticketRecords()
}

// ago draws how many days ago something happened within the last two
// years, more often recently (business grew, and the portal's first pages
// should not look stale).
func (b *builder) ago() int { return int(730 * math.Pow(b.rng.Float64(), 1.4)) }

// postcode returns a plausible postcode for a country.
func (b *builder) postcode(country, city string) string {
	switch country {
	case "GB":
		return fmt.Sprintf("%s%d %d%c%c", strings.ToUpper(city[:2]), 1+b.rng.IntN(20), b.rng.IntN(10),
			'A'+rune(b.rng.IntN(26)), 'A'+rune(b.rng.IntN(26)))
	case "NL":
		return fmt.Sprintf("%04d %c%c", 1000+b.rng.IntN(9000), 'A'+rune(b.rng.IntN(26)), 'A'+rune(b.rng.IntN(26)))
	case "BE", "CH", "AT":
		return fmt.Sprintf("%04d", 1000+b.rng.IntN(9000))
	}
	return fmt.Sprintf("%05d", 10000+b.rng.IntN(89999))
}

// day returns the date n days before today, as YYYY-MM-DD.
func (b *builder) day(n int) string { return b.today.AddDate(0, 0, -n).Format(time.DateOnly) }

func (b *builder) pick(list []string) string { return list[b.rng.IntN(len(list))] }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// product is one line of Northwind's catalogue; prices are EUR list prices.
type product struct {
	SKU, Description string
	Price            float64
	Pack             int // order quantities are multiples of it
}

var catalog = []product{
	{"NW-BRG-6204", "Deep groove ball bearing 6204-2RS", 4.80, 10},
	{"NW-BRG-6306", "Deep groove ball bearing 6306-ZZ", 11.40, 5},
	{"NW-BLT-M10", "Hex bolt M10x40 8.8 zinc, box of 100", 18.90, 1},
	{"NW-NUT-M10", "Hex nut M10 zinc, box of 200", 9.60, 1},
	{"NW-HYD-HS12", "Hydraulic hose 1/2\" 2SN, per metre", 7.25, 25},
	{"NW-HYD-FT12", "Hydraulic fitting JIC 1/2\" straight", 3.10, 20},
	{"NW-GLV-NIT9", "Nitrile work gloves size 9, pack of 12", 14.50, 5},
	{"NW-SAF-GLS", "Safety glasses, clear, anti-fog", 6.80, 10},
	{"NW-LUB-EP2", "EP2 lithium grease cartridge 400 g", 5.95, 12},
	{"NW-OIL-H46", "Hydraulic oil HLP 46, 20 L", 64.00, 2},
	{"NW-VBT-A1250", "V-belt SPA 1250", 12.70, 4},
	{"NW-CHN-08B", "Roller chain 08B-1, 5 m", 38.50, 1},
	{"NW-FLT-AIR", "Compressor air filter element", 27.30, 2},
	{"NW-MTR-075", "Electric motor 0.75 kW IE3 4-pole", 189.00, 1},
	{"NW-PMP-CEN", "Centrifugal pump 1.1 kW", 412.00, 1},
	{"NW-CBL-H07", "Cable H07RN-F 3G2.5, 50 m drum", 96.40, 1},
	{"NW-TAP-PVC", "PVC insulation tape, black, 10 rolls", 8.20, 5},
	{"NW-WRP-STR", "Pallet stretch film 23 µm, 300 m", 11.90, 6},
	{"NW-ABS-SPL", "Absorbent spill kit, 50 L", 74.00, 1},
	{"NW-CLN-IND", "Industrial degreaser 5 L", 16.40, 4},
}

var fx = map[string]float64{"EUR": 1, "GBP": 0.86, "USD": 1.08, "CHF": 0.96}

var warehouses = map[string][]string{
	"eu": {"Duisburg DC", "Rotterdam DC", "Leeds DC"},
	"us": {"Chicago DC", "Dallas DC"},
}

var (
	firstNames = []string{"Emma", "Liam", "Sophie", "Noah", "Mia", "Lucas", "Hannah", "Elias", "Julia", "Oscar",
		"Chloé", "Mateo", "Freya", "Jonas", "Amelia", "Ravi", "Ingrid", "Tomás", "Yuki", "Grace",
		"Pieter", "Leonie", "Omar", "Clara", "Felix", "Nadia", "Arthur", "Zoe", "Henrik", "Lea"}
	lastNames = []string{"Smith", "de Vries", "Müller", "Johnson", "Dubois", "Janssens", "Keller", "Brown", "Rossi", "Nowak",
		"Schmidt", "Peeters", "Garcia", "Wilson", "Lambert", "Bauer", "Moreau", "Taylor", "Visser", "Huber",
		"Fischer", "Martin", "Clarke", "Weber", "Meyer", "Jansen", "Schneider", "Davies", "Andersson", "Kaya"}
	jobTitles = []string{"Purchasing manager", "Buyer", "Maintenance lead", "Plant manager", "Accounts payable",
		"Warehouse supervisor", "Operations director", "Quality engineer", "Logistics coordinator", "Controller"}
)

func (b *builder) personName() (first, last string) {
	return b.pick(firstNames), b.pick(lastNames)
}

func emailLocal(first, last string) string {
	r := strings.NewReplacer(" ", "", "é", "e", "á", "a", "ü", "ue", "ö", "oe")
	return strings.ToLower(r.Replace(first) + "." + r.Replace(last))
}

func (b *builder) phone(country string) string {
	prefix := map[string]string{"GB": "+44 113", "NL": "+31 10", "BE": "+32 9", "US": "+1 512", "DE": "+49 40",
		"CH": "+41 61", "FR": "+33 4", "AT": "+43 1"}[country]
	return fmt.Sprintf("%s %03d %04d", prefix, b.rng.IntN(1000), b.rng.IntN(10000))
}

// accountRecords mirrors each account as an ERP master record (type
// account): one per account, owned by it.
func (b *builder) accountRecords() {
	for _, a := range b.order {
		c := b.company(a.ID)
		terms := []string{"NET30", "NET30", "NET45", "NET60"}[b.rng.IntN(4)]
		b.add(&access.Record{Type: "account", ID: a.ID, Owner: a.ID, Attributes: map[string]any{
			"name": a.Name, "kind": a.Kind, "city": a.City, "country": a.Country, "currency": c.currency,
			"payment_terms": terms, "credit_limit": float64(25000 * (1 + b.rng.IntN(8))),
			"account_manager": "Sofia Marin",
		}}, true)
	}
}

func (b *builder) addresses() {
	n := 0
	for _, a := range b.order {
		c := b.company(a.ID)
		kinds := map[string][]string{
			"customer":    {"bill_to", "ship_to", "ship_to", "remit_to"},
			"sold_to":     {"bill_to", "ship_to", "ship_to"},
			"site":        {"ship_to", "receiving_dock", "ship_to"},
			"distributor": {"bill_to", "ship_to", "warehouse", "returns"},
			"store":       {"ship_to", "bill_to", "storefront"},
		}[a.Kind]
		for i := range 3 + b.rng.IntN(4) {
			n++
			kind, label := "ship_to", fmt.Sprintf("ship to, gate %d", i)
			if i < len(kinds) {
				kind, label = kinds[i], strings.ReplaceAll(kinds[i], "_", " ")
			}
			b.add(&access.Record{Type: "address", ID: fmt.Sprintf("ADR-%05d", n), Owner: a.ID, Attributes: map[string]any{
				"name":     a.Name + " — " + label,
				"kind":     kind,
				"street":   fmt.Sprintf("%d %s", 1+b.rng.IntN(180), b.pick(c.street)),
				"postcode": b.postcode(a.Country, a.City),
				"city":     a.City, "country": a.Country,
				"primary": i == 0,
			}}, true)
		}
	}
}

func (b *builder) contacts() {
	n := 0
	for _, a := range b.order {
		c := b.company(a.ID)
		for range 3 + b.rng.IntN(5) {
			n++
			first, last := b.personName()
			b.add(&access.Record{Type: "contact", ID: fmt.Sprintf("CON-%05d", n), Owner: a.ID, Attributes: map[string]any{
				"name": first + " " + last, "email": emailLocal(first, last) + "@" + c.domain,
				"phone": b.phone(a.Country), "title": b.pick(jobTitles),
			}}, true)
		}
	}
	// Seed 002: every portal user is linked to a contact person of its company.
	for _, p := range people {
		a := b.accts[p.Home]
		b.add(&access.Record{Type: "contact", ID: "CON-" + p.ID, Owner: p.Home, Attributes: map[string]any{
			"name": p.Name, "email": p.Email, "phone": b.phone(a.Country), "title": b.pick(jobTitles),
			"portal_user": p.ID,
		}}, true)
	}
}

// stockHolders are the accounts Northwind keeps consignment stock for.
func (b *builder) stockHolders() []*acctSpec {
	var out []*acctSpec
	for _, a := range b.order {
		if a.Kind != "site" {
			out = append(out, a)
		}
	}
	return out
}

func (b *builder) inventory() {
	n := 0
	for _, a := range b.stockHolders() {
		c := b.company(a.ID)
		skus := b.rng.Perm(len(catalog))[:6+b.rng.IntN(7)]
		sort.Ints(skus)
		for _, i := range skus {
			p := catalog[i]
			n++
			b.add(&access.Record{Type: "inventory", ID: fmt.Sprintf("STK-%05d", n), Owner: a.ID, Attributes: map[string]any{
				"sku": p.SKU, "description": p.Description, "warehouse": b.pick(warehouses[c.region]),
				"quantity": float64(p.Pack * b.rng.IntN(60)), "reorder_point": float64(p.Pack * 10),
				"bin":     fmt.Sprintf("%c%02d-%d", 'A'+rune(b.rng.IntN(8)), 1+b.rng.IntN(40), 1+b.rng.IntN(5)),
				"updated": b.day(b.rng.IntN(45)),
			}}, true)
		}
	}
}

// buyer is an account that places orders, with its weight in the draw.
type buyer struct {
	acct   *acctSpec
	weight int
}

func (b *builder) buyers() []buyer {
	var out []buyer
	for _, a := range b.order {
		w := 0
		switch a.Kind {
		case "customer", "distributor":
			w = 3
		case "sold_to", "store":
			w = 2
		}
		if a.ID == "C-ACME" {
			w = 8 // the demo's main customer has the most history
		}
		if w > 0 {
			out = append(out, buyer{a, w})
		}
	}
	return out
}

// invoiceInfo is what balances need to know of an invoice.
type invoiceInfo struct {
	owner, date, due, paid string // paid: payment date or ""
	amount                 float64
}

var carriers = map[string][]string{
	"eu": {"DHL Freight", "DB Schenker", "DPD", "Kuehne+Nagel", "Northwind own fleet"},
	"us": {"UPS Freight", "FedEx Freight", "XPO Logistics", "Northwind own fleet"},
}

// orderCount is how many sales orders the two years hold.
const orderCount = 640

func (b *builder) orders() {
	buyers := b.buyers()
	total := 0
	for _, x := range buyers {
		total += x.weight
	}
	type draft struct {
		acct *acctSpec
		ago  int
	}
	drafts := make([]draft, orderCount)
	for i := range drafts {
		k := b.rng.IntN(total)
		for _, x := range buyers {
			if k -= x.weight; k < 0 {
				drafts[i].acct = x.acct
				break
			}
		}
		drafts[i].ago = b.ago()
	}
	// Numbers increase with the order date, as in any ERP.
	sort.SliceStable(drafts, func(i, j int) bool { return drafts[i].ago > drafts[j].ago })
	var lastST6 *access.Record
	for i, d := range drafts {
		r := b.order1(100001+i, d.acct, d.ago)
		if d.acct.ID == ChainBrokenStore {
			lastST6 = r
		}
	}
	// Seed 004, downstream shares upward: the franchise shares its latest
	// order with the whole Contoso company, read-only.
	if lastST6 != nil {
		lastST6.Teams = []access.TeamEntry{{Principal: "account:D-CONTOSO", Access: access.AccessRead}}
		lastST6.Attributes["note"] = "Shared with Contoso head office for the joint promotion"
		if err := b.eng.ValidateRecord(lastST6); err != nil {
			b.fail("record sales_order/%s: %w", lastST6.ID, err)
		}
	}
	b.onBehalf()
}

// lines draws 1–4 order lines and returns them with the header totals.
func (b *builder) lines(currency string) (lines []any, gross, discount float64) {
	idx := b.rng.Perm(len(catalog))[:1+b.rng.IntN(4)]
	sort.Ints(idx)
	for n, i := range idx {
		p := catalog[i]
		qty := p.Pack * (1 + b.rng.IntN(8))
		price := round2(p.Price * fx[currency])
		lineGross := round2(float64(qty) * price)
		pct := []float64{0, 0, 0, 2, 5, 10}[b.rng.IntN(6)]
		lineDisc := round2(lineGross * pct / 100)
		lines = append(lines, map[string]any{
			"line": float64(10 * (n + 1)), "sku": p.SKU, "description": p.Description, "qty": float64(qty),
			"price": price, "discount": lineDisc, "amount": round2(lineGross - lineDisc),
		})
		gross += lineGross
		discount += lineDisc
	}
	return lines, round2(gross), round2(discount)
}

// order1 queues one sales order and what follows from its status: a
// shipment, an invoice, a payment.
func (b *builder) order1(num int, a *acctSpec, ago int) *access.Record {
	c := b.company(a.ID)
	status := "closed"
	switch {
	case ago < 3:
		status = []string{"open", "open", "confirmed"}[b.rng.IntN(3)]
	case ago < 10:
		status = []string{"confirmed", "shipped"}[b.rng.IntN(2)]
	case ago < 30:
		status = []string{"shipped", "invoiced", "invoiced"}[b.rng.IntN(3)]
	case ago < 60:
		status = []string{"invoiced", "invoiced", "closed"}[b.rng.IntN(3)]
	case b.rng.IntN(100) < 3:
		status = "invoiced" // long overdue
	}
	if ago >= 3 && b.rng.IntN(100) < 4 {
		status = "cancelled"
	}
	number := fmt.Sprintf("SO-%d", num)
	lines, gross, disc := b.lines(c.currency)
	attrs := map[string]any{
		"number": number, "status": status, "customer": a.ID, "customer_name": a.Name,
		"order_date": b.day(ago), "requested_date": b.day(ago - 5 - b.rng.IntN(10)),
		"po_number": fmt.Sprintf("PO-%s-%04d", strings.ToUpper(strings.Split(c.domain, ".")[0]), 1000+b.rng.IntN(9000)),
		"currency":  c.currency, "price": gross, "discount": disc, "amount": round2(gross - disc),
		"lines": lines,
	}
	r := &access.Record{Type: "sales_order", ID: number, Attributes: attrs}
	// A few recent Acme orders were placed in the portal by the customer admin.
	if a.ID == "C-ACME" && ago < 120 && b.rng.IntN(4) == 0 {
		r.Creator = "U-DAVE"
		attrs["channel"] = "portal"
	} else {
		attrs["channel"] = []string{"edi", "email", "phone", "edi"}[b.rng.IntN(4)]
	}
	b.add(r, false)

	shipAgo := max(ago-1-b.rng.IntN(4), 0)
	switch status {
	case "confirmed":
		if b.rng.IntN(2) == 0 {
			b.shipment(num, number, a, ago-3-b.rng.IntN(5), "planned")
		}
	case "shipped", "invoiced", "closed":
		st := "delivered"
		if shipAgo < 3 {
			st = "shipped"
		}
		b.shipment(num, number, a, shipAgo, st)
	}
	if status == "invoiced" || status == "closed" {
		invAgo := max(shipAgo-b.rng.IntN(3), 0)
		b.invoice(num, number, a, invAgo, round2(gross-disc), status == "closed")
	}
	return r
}

func (b *builder) shipment(num int, order string, a *acctSpec, ago int, status string) {
	c := b.company(a.ID)
	b.add(&access.Record{Type: "shipment", ID: fmt.Sprintf("SH-%d", num),
		Parent: &access.Ref{Type: "sales_order", ID: order}, Attributes: map[string]any{
			"number": fmt.Sprintf("SH-%d", num), "status": status, "ship_date": b.day(ago),
			"carrier": b.pick(carriers[c.region]), "tracking": fmt.Sprintf("%010d", b.rng.Int64N(1e10)),
			"ship_to": a.Name + ", " + a.City, "packages": float64(1 + b.rng.IntN(6)),
		}}, false)
}

func (b *builder) invoice(num int, order string, a *acctSpec, ago int, amount float64, paid bool) {
	c := b.company(a.ID)
	number := fmt.Sprintf("INV-%d", num)
	due := ago - 30 // due_date is day(due): 30 days after the invoice date
	status := "open"
	if due > 0 { // day(n) is n days back: the due date has passed
		status = "overdue"
	}
	payAgo := -1
	if paid {
		status = "paid"
		payAgo = max(ago-5-b.rng.IntN(40), 0)
	}
	b.add(&access.Record{Type: "invoice", ID: number, Attributes: map[string]any{
		"number": number, "status": status, "customer": a.ID, "sales_order": order,
		"invoice_date": b.day(ago), "due_date": b.day(due), "amount": amount, "currency": c.currency,
	}}, false)
	info := invoiceInfo{owner: a.ID, date: b.day(ago), due: b.day(due), amount: amount}
	if paid {
		info.paid = b.day(payAgo)
		b.add(&access.Record{Type: "payment", ID: fmt.Sprintf("PAY-%d", num),
			Parent: &access.Ref{Type: "invoice", ID: number}, Attributes: map[string]any{
				"number": fmt.Sprintf("PAY-%d", num), "payment_date": info.paid, "amount": amount,
				"currency": c.currency, "method": []string{"bank_transfer", "bank_transfer", "direct_debit", "card"}[b.rng.IntN(4)],
				"reference": number,
			}}, false)
	}
	b.invoices = append(b.invoices, info)
}

// onBehalf queues two orders Northwind's salesperson placed on behalf of
// Acme (seed 004): no customer attribute, so no owner. The first stays
// invisible to every external user; the second is shared with the whole
// Acme company, read-only, through External Related Teams.
func (b *builder) onBehalf() {
	for i, id := range []string{OnBehalfHidden, OnBehalfShared} {
		lines, gross, disc := b.lines("GBP")
		r := &access.Record{Type: "sales_order", ID: id, Creator: "U-SOFIA", Attributes: map[string]any{
			"number": id, "status": "open", "order_date": b.day(2 - i), "currency": "GBP",
			"price": gross, "discount": disc, "amount": round2(gross - disc), "lines": lines,
			"channel":   "on_behalf",
			"placed_by": "Sofia Marin (Northwind sales), on behalf of Acme Manufacturing",
		}}
		if id == OnBehalfShared {
			r.Teams = []access.TeamEntry{{Principal: "account:C-ACME", Access: access.AccessRead}}
		}
		b.add(r, false)
	}
}

// balances queues each invoiced account's open balance at every month end
// of the last two years, computed from the invoices and payments above.
func (b *builder) balances() {
	byOwner := map[string][]invoiceInfo{}
	var owners []string
	for _, inv := range b.invoices {
		if byOwner[inv.owner] == nil {
			owners = append(owners, inv.owner)
		}
		byOwner[inv.owner] = append(byOwner[inv.owner], inv)
	}
	sort.Strings(owners)
	first := time.Date(b.today.Year(), b.today.Month(), 1, 0, 0, 0, 0, time.UTC)
	for _, o := range owners {
		c := b.company(o)
		for m := 24; m >= 1; m-- {
			asOf := first.AddDate(0, -m+1, -1).Format(time.DateOnly) // last day of an earlier month
			var open, overdue float64
			count := 0
			for _, inv := range byOwner[o] {
				if inv.date <= asOf && (inv.paid == "" || inv.paid > asOf) {
					open += inv.amount
					count++
					if inv.due < asOf {
						overdue += inv.amount
					}
				}
			}
			b.add(&access.Record{Type: "balance", ID: fmt.Sprintf("BAL-%s-%s", o, asOf[:7]), Owner: o,
				Attributes: map[string]any{
					"currency": c.currency, "amount": round2(open), "overdue": round2(overdue),
					"open_invoices": float64(count), "as_of": asOf,
				}}, true)
		}
	}
}

var subjects = map[string][]string{
	"incident":  {"Pump PMP-CEN leaking at the seal", "Wrong bearing type delivered", "Delivery arrived damaged", "Motor overheating after two weeks", "Hose burst during pressure test"},
	"question":  {"Lead time for NW-MTR-075?", "Can we get the safety data sheet for HLP 46?", "Invoice shows a different PO number", "Is the EP2 grease food-grade?", "How do I add a colleague to the portal?"},
	"request":   {"Please quote 200 m of hydraulic hose", "Change our delivery address", "Request a consignment stock review", "Schedule the quarterly maintenance visit", "Add NW-ABS-SPL to our catalogue"},
	"complaint": {"Third late delivery this month", "Invoice amount does not match the quote", "Driver refused to unload at dock 2", "Packaging waste on every pallet"},
}

var ticketTypes = []string{"incident", "question", "request", "complaint"}

// ticketRecords queues ~270 tickets: many opened by Northwind's support on
// the phone, many by portal users of the account (creator set), including
// the scenario users' own.
func (b *builder) ticketRecords() {
	var owners []*acctSpec
	for _, a := range b.order {
		owners = append(owners, a)
		if a.Kind == "site" || a.Kind == "customer" {
			owners = append(owners, a) // sites and customers have more tickets
		}
	}
	for range 220 {
		a := owners[b.rng.IntN(len(owners))]
		creator := ""
		if cs := ticketCreators(a.ID); len(cs) > 0 && b.rng.IntN(100) < 45 {
			creator = cs[b.rng.IntN(len(cs))]
		}
		b.ticket(a, creator, b.ago())
	}
	// The scenario users' own tickets, some of them recent.
	for _, x := range []struct {
		acct, user string
		n          int
	}{
		{"C-HOOLI-SITE1", "U-TINA", 8}, {"C-HOOLI-SITE2", "U-HANS", 6}, {"C-HOOLI", "", 4},
		{"C-ACME-ST1", "U-SAM", 4}, {"C-ACME-ST2", "", 3}, {"C-UMBRELLA", "U-UMA", 5}, {"C-UMBRELLA", "", 3},
		{"D-CONTOSO-ST6", "U-STELLA", 3}, {"C-ACME", "U-ANNA", 3},
	} {
		for range x.n {
			b.ticket(b.accts[x.acct], x.user, b.rng.IntN(200))
		}
	}
}

// ticketCreators lists the portal users who open tickets for an account.
func ticketCreators(acct string) []string {
	switch {
	case acct == "C-ACME-ST1":
		return []string{"U-SAM", "U-ANNA", "U-DAVE"}
	case strings.HasPrefix(acct, "C-ACME"):
		return []string{"U-ANNA", "U-BEN", "U-DAVE", "U-RITA"}
	case acct == "C-HOOLI-SITE1":
		return []string{"U-TINA"}
	case acct == "C-HOOLI-SITE2":
		return []string{"U-HANS"}
	case strings.HasPrefix(acct, "C-GLOBEX"):
		return []string{"U-MAX"}
	case strings.HasPrefix(acct, "C-INITECH"):
		return []string{"U-MAX", "U-IVAN"}
	case strings.HasPrefix(acct, "C-UMBRELLA"):
		return []string{"U-UMA"}
	case acct == ChainBrokenStore:
		return []string{"U-STELLA"}
	case strings.HasPrefix(acct, "D-CONTOSO"):
		return []string{"U-DIEGO"}
	}
	return nil
}

func (b *builder) ticket(a *acctSpec, creator string, ago int) {
	c := b.company(a.ID)
	b.tickets++
	number := fmt.Sprintf("TK-%d", 20000+b.tickets)
	typ := ticketTypes[b.rng.IntN(len(ticketTypes))]
	status := "closed"
	switch {
	case ago < 7:
		status = []string{"new", "in_progress", "waiting"}[b.rng.IntN(3)]
	case ago < 45:
		status = []string{"in_progress", "waiting", "resolved", "closed"}[b.rng.IntN(4)]
	case b.rng.IntN(5) == 0:
		status = "resolved"
	}
	team := "group:" + SupportEU
	if c.region == "us" {
		team = "group:" + SupportUS
	}
	responsible := team
	if b.rng.IntN(4) == 0 {
		responsible = map[string]string{"eu": "user:U-LENA", "us": "user:U-JOSE"}[c.region]
	}
	if creator == "U-TINA" { // stays within her constraints (seed 002)
		typ = []string{"incident", "question"}[b.rng.IntN(2)]
		status = map[bool]string{true: "new", false: "closed"}[ago < 14]
		responsible = "group:" + SupportEU
	}
	if creator == "" {
		creator = map[string]string{"eu": "U-LENA", "us": "U-JOSE"}[c.region]
	}
	attrs := map[string]any{
		"number": number, "title": b.pick(subjects[typ]), "type": typ, "status": status,
		"priority":    []string{"low", "normal", "normal", "normal", "high", "urgent"}[b.rng.IntN(6)],
		"responsible": responsible, "created": b.day(ago), "account_name": a.Name,
	}
	if a.Kind == "site" {
		attrs["site"] = a.ID
	}
	b.add(&access.Record{Type: "ticket", ID: number, Owner: a.ID, Creator: creator, Attributes: attrs}, true)
}
