package worldgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Named accounts and users. They exist in every size, with these ids, so
// that benchmarks, runs and reports can name them.
const (
	// KeyAccount is the key customer; its tree owns Size.KeyOrders orders.
	KeyAccount = "KEY"

	// The user classes of the list workloads (docs/benchmarks.md).
	UserSingle      = "bench-single"      // L30 on one customer
	UserDistributor = "bench-distributor" // L30 on distributor D0001 and its 100 stores
	UserMulti50     = "bench-multi50"     // L30 on 50 customers, a third with days_back MultiDaysBack
	UserKey         = "bench-key"         // L30 on the key account

	// UserRevoke holds L30 on RevokeKeep and RevokeAccount; the
	// revoke-visible workload revokes and re-creates the second.
	UserRevoke    = "bench-revoke"
	RevokeKeep    = "C000004"
	RevokeAccount = "C000005"

	// MultiDaysBack is the days_back of every third grant of UserMulti50.
	MultiDaysBack = 365
)

// Model is the access model of a world: the account tree, the external
// users, the memberships of account groups and the direct grants, built in
// memory from a seed before anything is written or loaded. Accounts come
// parents first; Users holds the ordinary users, then the named ones.
// Account groups and their default grants are not listed: they follow from
// each account's external access switch (access.AccountGroupID).
type Model struct {
	Size  Size
	Epoch time.Time
	rng   *rand.Rand
	pol   *policy.Policy

	Accounts []access.Account
	index    map[string]int // account id → index in Accounts
	Children map[string][]string

	// The accounts by kind. The key account's tree (KeyTree) is in none of
	// them, so that records drawn from these lists never land in it.
	Customers, SoldTos, Sites, Distributors, Stores []string
	KeyTree                                         []string

	Users []access.User // external users, named ones included
	// Ordinary are the indexes in Users of the generated (not named) users.
	Ordinary []int
	// Homes lists the ordinary users homed in each account.
	Homes   map[string][]string
	Members [][2]string // (group, user)
	Grants  []access.Grant
	pairs   map[[2]string]bool // (principal, account) pairs holding a grant
	// MultiUsers counts the ordinary users with grants on 5–50 customers.
	MultiUsers int
}

// NewModel builds the model of size from seed; grant validity is relative
// to epoch. Equal arguments give equal models.
func NewModel(size Size, seed uint64, epoch time.Time) *Model {
	m := &Model{
		Size:     size,
		Epoch:    epoch,
		rng:      rand.New(rand.NewPCG(seed, 0xbe_4c_da_7a)),
		pol:      policy.Default(),
		index:    map[string]int{},
		Children: map[string][]string{},
		Homes:    map[string][]string{},
		pairs:    map[[2]string]bool{},
	}
	m.genAccounts()
	m.genUsers()
	m.genGrants()
	return m
}

func (m *Model) chance(p float64) bool { return m.rng.Float64() < p }

func (m *Model) pick(list []string) string { return list[m.rng.IntN(len(list))] }

func (m *Model) Account(id string) *access.Account { return &m.Accounts[m.index[id]] }

func (m *Model) addAccount(id, kind, parent string, ext, inherit bool) {
	m.index[id] = len(m.Accounts)
	m.Accounts = append(m.Accounts, access.Account{ID: id, Name: kind + " " + id, Kind: kind, Parent: parent,
		ExternalAccess: ext, Inherit: inherit})
	if parent != "" {
		m.Children[parent] = append(m.Children[parent], id)
	}
}

// genAccounts builds the tree: customers with 1–5 sold-tos and 0–3 sites,
// the key account, distributors with 10–100 stores (5% of them inherit
// false). About 10% of the accounts have their external access switch off;
// the accounts the named users hold grants on keep it on, and D0001 has
// exactly 100 stores, all inheriting. The first 60 customers keep the
// switch on so that the 50 grants of the multi-customer user all count.
func (m *Model) genAccounts() {
	ext := func() bool { return !m.chance(0.10) }
	// customer adds a customer with its sold-tos and sites; those of the
	// key account stay out of the lists ordinary records draw owners from,
	// so that the key account owns exactly its KeyOrders orders.
	customer := func(id string, soldTos, sites int, on, ordinary bool) {
		m.addAccount(id, "customer", "", on, true)
		for j := 1; j <= soldTos; j++ {
			s := id + "-S" + strconv.Itoa(j)
			m.addAccount(s, "sold_to", id, ext(), true)
			if ordinary {
				m.SoldTos = append(m.SoldTos, s)
			}
		}
		for j := 1; j <= sites; j++ {
			s := id + "-W" + strconv.Itoa(j)
			m.addAccount(s, "site", id, ext(), true)
			if ordinary {
				m.Sites = append(m.Sites, s)
			}
		}
	}
	for i := 1; i <= m.Size.Customers; i++ {
		id := fmt.Sprintf("C%06d", i)
		customer(id, 1+m.rng.IntN(5), m.rng.IntN(4), i <= 60 || ext(), true)
		m.Customers = append(m.Customers, id)
	}
	customer(KeyAccount, 5, 3, true, false)
	m.KeyTree = append([]string{KeyAccount}, m.Children[KeyAccount]...)
	for i := 1; i <= m.Size.Distributors; i++ {
		id := fmt.Sprintf("D%04d", i)
		n := 10 + m.rng.IntN(91)
		if i == 1 {
			n = 100
		}
		m.addAccount(id, "distributor", "", i <= 2 || ext(), true)
		m.Distributors = append(m.Distributors, id)
		for j := 1; j <= n; j++ {
			s := fmt.Sprintf("%s-T%03d", id, j)
			m.addAccount(s, "store", id, ext(), i == 1 || !m.chance(0.05))
			m.Stores = append(m.Stores, s)
		}
	}
}

// genUsers adds the ordinary external users (1% at the key account, the
// rest homed in customers, sold-tos and distributors; 96% active, 2%
// invited, 2% disabled), about 60% of them members of their home's account
// group, then the named users.
func (m *Model) genUsers() {
	add := func(id, home, status string) int {
		m.Users = append(m.Users, access.User{ID: id, Kind: access.KindExternal, Name: "User " + id,
			Email: id + "@bench.example", HomeAccount: home, Status: status})
		return len(m.Users) - 1
	}
	nKey := max(m.Size.Users/100, 10)
	for i := 1; i <= m.Size.Users; i++ {
		var home string
		switch x := m.rng.Float64(); {
		case i <= nKey:
			home = m.pick(m.KeyTree[:6]) // the key customer and its sold-tos
		case x < 0.55:
			home = m.pick(m.Customers)
		case x < 0.80:
			home = m.pick(m.SoldTos)
		default:
			home = m.pick(m.Distributors)
		}
		status := access.StatusActive
		switch x := m.rng.Float64(); {
		case x < 0.02:
			status = access.StatusInvited
		case x < 0.04:
			status = access.StatusDisabled
		}
		id := fmt.Sprintf("U%06d", i)
		m.Ordinary = append(m.Ordinary, add(id, home, status))
		m.Homes[home] = append(m.Homes[home], id)
		if m.Account(home).ExternalAccess && (i <= nKey || m.chance(0.6)) {
			m.Members = append(m.Members, [2]string{access.AccountGroupID(home), id})
		}
	}
	for _, u := range [][2]string{{UserSingle, "C000001"}, {UserDistributor, "D0001"}, {UserMulti50, "C000002"},
		{UserKey, KeyAccount}, {UserRevoke, "C000003"}} {
		add(u[0], u[1], access.StatusActive)
		m.Members = append(m.Members, [2]string{access.AccountGroupID(u[1]), u[0]})
	}
}

// roleWeights are the ladder's roles with the weights direct grants draw
// them by.
var roleWeights = []struct {
	name   string
	weight float64
}{{"L10", 0.15}, {"L20", 0.25}, {"L30", 0.25}, {"L40", 0.20}, {"L80", 0.12}, {"L90", 0.03}}

// role draws a role; the protected Owner (L90) only when allowOwner.
func (m *Model) role(allowOwner bool) string {
	for {
		x := m.rng.Float64()
		for _, r := range roleWeights {
			if x < r.weight {
				if r.name == "L90" && !allowOwner {
					break // draw again
				}
				return r.name
			}
			x -= r.weight
		}
	}
}

// addGrant adds a direct grant of user on acct unless the user holds one
// there. Unless plain or the protected L90: 15% scope account, 15% read
// only, 30% days_back between 30 and 730, 5% expired before the epoch.
func (m *Model) addGrant(user, acct, role string, plain bool, daysBack int) bool {
	principal := "user:" + user
	if m.pairs[[2]string{principal, acct}] {
		return false
	}
	m.pairs[[2]string{principal, acct}] = true
	g := access.Grant{Principal: principal, Account: acct, Role: role, Scope: access.ScopeSubtree,
		Access: access.AccessReadWrite, Notes: "bench"}
	if role != "L90" && !plain {
		if m.chance(0.15) {
			g.Scope = access.ScopeAccount
		}
		if m.chance(0.15) {
			g.Access = access.AccessRead
		}
		if m.chance(0.30) {
			db := 30 + m.rng.IntN(701)
			g.DaysBack = &db
		}
		if m.chance(0.05) {
			until := m.Epoch.AddDate(0, 0, -1-m.rng.IntN(365))
			g.ValidUntil = &until
		}
	}
	if daysBack > 0 {
		g.DaysBack = &daysBack
	}
	m.Grants = append(m.Grants, g)
	return true
}

// genGrants gives every ordinary user a grant on its home account, 1% of
// them grants on 5–50 customers instead, the named users theirs, then extra
// grants in the users' own trees (10% on another customer) until the
// direct grants reach the size's count.
func (m *Model) genGrants() {
	nMulti := max(m.Size.Users/100, 1)
	multi := map[int]bool{}
	for _, i := range m.rng.Perm(len(m.Ordinary))[:nMulti] {
		multi[i] = true
	}
	m.MultiUsers = nMulti
	for i, ui := range m.Ordinary {
		u := m.Users[ui]
		if !multi[i] {
			m.addGrant(u.ID, u.HomeAccount, m.role(true), false, 0)
			continue
		}
		for n := 5 + m.rng.IntN(46); n > 0; {
			if m.addGrant(u.ID, m.pick(m.Customers), m.role(false), false, 0) {
				n--
			}
		}
	}

	m.addGrant(UserSingle, "C000001", "L30", true, 0)
	m.addGrant(UserDistributor, "D0001", "L30", true, 0)
	m.addGrant(UserKey, KeyAccount, "L30", true, 0)
	m.addGrant(UserRevoke, RevokeKeep, "L30", true, 0)
	m.addGrant(UserRevoke, RevokeAccount, "L30", true, 0)
	for n := 0; n < 50; {
		c := m.pick(m.Customers)
		if !m.Account(c).ExternalAccess {
			continue
		}
		db := 0
		if n%3 == 0 {
			db = MultiDaysBack
		}
		if m.addGrant(UserMulti50, c, "L30", true, db) {
			n++
		}
	}

	for tries := 0; len(m.Grants) < m.Size.DirectGrants && tries < 10*m.Size.DirectGrants; tries++ {
		i := m.rng.IntN(len(m.Ordinary))
		if multi[i] {
			continue
		}
		u := m.Users[m.Ordinary[i]]
		acct := m.pick(m.Customers)
		if !m.chance(0.10) {
			tree := u.HomeAccount
			if p := m.Account(tree).Parent; p != "" {
				tree = p
			}
			acct = m.pick(append([]string{tree}, m.Children[tree]...))
		}
		m.addGrant(u.ID, acct, m.role(false), false, 0)
	}
}

// reach returns, for a named user, the accounts its direct grants cover
// (subtrees expanded, chain breaks applied) with each one's days_back (-1
// for none; the smallest cutoff wins when grants overlap).
func (m *Model) Reach(user string) map[string]int {
	out := map[string]int{}
	add := func(acct string, days int) {
		if old, ok := out[acct]; !ok || days < 0 || (old >= 0 && days > old) {
			out[acct] = days
		}
	}
	var walk func(acct string, days int)
	walk = func(acct string, days int) {
		add(acct, days)
		for _, c := range m.Children[acct] {
			if m.Account(c).Inherit {
				walk(c, days)
			}
		}
	}
	for _, g := range m.Grants {
		if g.Principal != "user:"+user {
			continue
		}
		days := -1
		if g.DaysBack != nil {
			days = *g.DaysBack
		}
		if g.Scope == access.ScopeSubtree {
			walk(g.Account, days)
		} else {
			add(g.Account, days)
		}
	}
	return out
}
