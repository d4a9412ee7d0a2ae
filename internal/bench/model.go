package bench

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Named accounts and users. They exist in every size, with these ids, so
// that runs and reports can name them.
const (
	keyAccount = "KEY"

	// AdminUser is the internal admin the workloads authenticate as.
	AdminUser = "admin"

	// The user classes of the list workloads (BENCHMARKS.md).
	UserSingle      = "bench-single"      // L30 on one customer
	UserDistributor = "bench-distributor" // L30 on distributor D0001 and its 100 stores
	UserMulti       = "bench-multi50"     // L30 on 50 customers, a third with days_back 365
	UserKey         = "bench-key"         // L30 on the key account, which owns KeyOrders orders

	// UserRevoke holds L30 on revokeKeep and revokeAccount; revoke-visible
	// revokes and re-creates the second.
	UserRevoke    = "bench-revoke"
	revokeKeep    = "C000004"
	revokeAccount = "C000005"

	// multiDaysBack is the days_back of every third grant of UserMulti.
	multiDaysBack = 365
)

// Passwords of the generated users: the data is synthetic and the
// benchmark signs in as these users through the API.
const (
	AdminPassword = "portcullis-bench-admin"
	UserPassword  = "portcullis-bench-user"
)

// model is the access model of a dataset, built in memory from the seed
// before anything is written.
type model struct {
	size  Size
	epoch time.Time
	rng   *rand.Rand
	pol   *policy.Policy

	accounts []access.Account
	index    map[string]int // account id → index in accounts
	children map[string][]string

	customers, soldTos, sites, distributors, stores []string
	keyTree                                         []string

	users []access.User // external users, named ones included
	// ordinary are the indexes in users of the generated (not named) users.
	ordinary []int
	// homes lists the ordinary users homed in each account.
	homes   map[string][]string
	members [][2]string // (group, user)
	grants  []access.Grant
	pairs   map[[2]string]bool // (principal, account) pairs holding a grant
	// multiUsers counts the ordinary users with grants on 5–50 customers.
	multiUsers int
}

// newModel builds the access model of size from seed; dates are relative to
// epoch (a UTC midnight).
func newModel(size Size, seed uint64, epoch time.Time) *model {
	m := &model{
		size:     size,
		epoch:    epoch,
		rng:      rand.New(rand.NewPCG(seed, 0xbe_4c_da_7a)),
		pol:      policy.Default(),
		index:    map[string]int{},
		children: map[string][]string{},
		homes:    map[string][]string{},
		pairs:    map[[2]string]bool{},
	}
	m.genAccounts()
	m.genUsers()
	m.genGrants()
	return m
}

func (m *model) chance(p float64) bool { return m.rng.Float64() < p }

func (m *model) pick(list []string) string { return list[m.rng.IntN(len(list))] }

func (m *model) account(id string) *access.Account { return &m.accounts[m.index[id]] }

func (m *model) addAccount(id, kind, parent string, ext, inherit bool) {
	m.index[id] = len(m.accounts)
	m.accounts = append(m.accounts, access.Account{ID: id, Name: kind + " " + id, Kind: kind, Parent: parent,
		ExternalAccess: ext, Inherit: inherit})
	if parent != "" {
		m.children[parent] = append(m.children[parent], id)
	}
}

// genAccounts builds the tree: customers with 1–5 sold-tos and 0–3 sites,
// the key account, distributors with 10–100 stores (5% of them inherit
// false). About 10% of the accounts have their external access switch off;
// the accounts the named users hold grants on keep it on, and D0001 has
// exactly 100 stores, all inheriting. The first 60 customers keep the
// switch on so that the 50 grants of the multi-customer user all count.
func (m *model) genAccounts() {
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
				m.soldTos = append(m.soldTos, s)
			}
		}
		for j := 1; j <= sites; j++ {
			s := id + "-W" + strconv.Itoa(j)
			m.addAccount(s, "site", id, ext(), true)
			if ordinary {
				m.sites = append(m.sites, s)
			}
		}
	}
	for i := 1; i <= m.size.Customers; i++ {
		id := fmt.Sprintf("C%06d", i)
		customer(id, 1+m.rng.IntN(5), m.rng.IntN(4), i <= 60 || ext(), true)
		m.customers = append(m.customers, id)
	}
	customer(keyAccount, 5, 3, true, false)
	m.keyTree = append([]string{keyAccount}, m.children[keyAccount]...)
	for i := 1; i <= m.size.Distributors; i++ {
		id := fmt.Sprintf("D%04d", i)
		n := 10 + m.rng.IntN(91)
		if i == 1 {
			n = 100
		}
		m.addAccount(id, "distributor", "", i <= 2 || ext(), true)
		m.distributors = append(m.distributors, id)
		for j := 1; j <= n; j++ {
			s := fmt.Sprintf("%s-T%03d", id, j)
			m.addAccount(s, "store", id, ext(), i == 1 || !m.chance(0.05))
			m.stores = append(m.stores, s)
		}
	}
}

// genUsers adds the ordinary external users (1% at the key account, the
// rest homed in customers, sold-tos and distributors; 96% active, 2%
// invited, 2% disabled), about 60% of them members of their home's account
// group, then the named users.
func (m *model) genUsers() {
	add := func(id, home, status string) int {
		m.users = append(m.users, access.User{ID: id, Kind: access.KindExternal, Name: "User " + id,
			Email: id + "@bench.example", HomeAccount: home, Status: status})
		return len(m.users) - 1
	}
	nKey := max(m.size.Users/100, 10)
	for i := 1; i <= m.size.Users; i++ {
		var home string
		switch x := m.rng.Float64(); {
		case i <= nKey:
			home = m.pick(m.keyTree[:6]) // the key customer and its sold-tos
		case x < 0.55:
			home = m.pick(m.customers)
		case x < 0.80:
			home = m.pick(m.soldTos)
		default:
			home = m.pick(m.distributors)
		}
		status := access.StatusActive
		switch x := m.rng.Float64(); {
		case x < 0.02:
			status = access.StatusInvited
		case x < 0.04:
			status = access.StatusDisabled
		}
		id := fmt.Sprintf("U%06d", i)
		m.ordinary = append(m.ordinary, add(id, home, status))
		m.homes[home] = append(m.homes[home], id)
		if m.account(home).ExternalAccess && (i <= nKey || m.chance(0.6)) {
			m.members = append(m.members, [2]string{access.AccountGroupID(home), id})
		}
	}
	for _, u := range [][2]string{{UserSingle, "C000001"}, {UserDistributor, "D0001"}, {UserMulti, "C000002"},
		{UserKey, keyAccount}, {UserRevoke, "C000003"}} {
		add(u[0], u[1], access.StatusActive)
		m.members = append(m.members, [2]string{access.AccountGroupID(u[1]), u[0]})
	}
}

// roleWeights are the ladder's roles with the weights direct grants draw
// them by.
var roleWeights = []struct {
	name   string
	weight float64
}{{"L10", 0.15}, {"L20", 0.25}, {"L30", 0.25}, {"L40", 0.20}, {"L80", 0.12}, {"L90", 0.03}}

// role draws a role; the protected Owner (L90) only when allowOwner.
func (m *model) role(allowOwner bool) string {
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
func (m *model) addGrant(user, acct, role string, plain bool, daysBack int) bool {
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
			until := m.epoch.AddDate(0, 0, -1-m.rng.IntN(365))
			g.ValidUntil = &until
		}
	}
	if daysBack > 0 {
		g.DaysBack = &daysBack
	}
	m.grants = append(m.grants, g)
	return true
}

// genGrants gives every ordinary user a grant on its home account, 1% of
// them grants on 5–50 customers instead, the named users theirs, then extra
// grants in the users' own trees (10% on another customer) until the
// direct grants reach the size's count.
func (m *model) genGrants() {
	nMulti := max(m.size.Users/100, 1)
	multi := map[int]bool{}
	for _, i := range m.rng.Perm(len(m.ordinary))[:nMulti] {
		multi[i] = true
	}
	m.multiUsers = nMulti
	for i, ui := range m.ordinary {
		u := m.users[ui]
		if !multi[i] {
			m.addGrant(u.ID, u.HomeAccount, m.role(true), false, 0)
			continue
		}
		for n := 5 + m.rng.IntN(46); n > 0; {
			if m.addGrant(u.ID, m.pick(m.customers), m.role(false), false, 0) {
				n--
			}
		}
	}

	m.addGrant(UserSingle, "C000001", "L30", true, 0)
	m.addGrant(UserDistributor, "D0001", "L30", true, 0)
	m.addGrant(UserKey, keyAccount, "L30", true, 0)
	m.addGrant(UserRevoke, revokeKeep, "L30", true, 0)
	m.addGrant(UserRevoke, revokeAccount, "L30", true, 0)
	for n := 0; n < 50; {
		c := m.pick(m.customers)
		if !m.account(c).ExternalAccess {
			continue
		}
		db := 0
		if n%3 == 0 {
			db = multiDaysBack
		}
		if m.addGrant(UserMulti, c, "L30", true, db) {
			n++
		}
	}

	for tries := 0; len(m.grants) < m.size.DirectGrants && tries < 10*m.size.DirectGrants; tries++ {
		i := m.rng.IntN(len(m.ordinary))
		if multi[i] {
			continue
		}
		u := m.users[m.ordinary[i]]
		acct := m.pick(m.customers)
		if !m.chance(0.10) {
			tree := u.HomeAccount
			if p := m.account(tree).Parent; p != "" {
				tree = p
			}
			acct = m.pick(append([]string{tree}, m.children[tree]...))
		}
		m.addGrant(u.ID, acct, m.role(false), false, 0)
	}
}

// reach returns, for a named user, the accounts its direct grants cover
// (subtrees expanded, chain breaks applied) with each one's days_back (-1
// for none; the smallest cutoff wins when grants overlap).
func (m *model) reach(user string) map[string]int {
	out := map[string]int{}
	add := func(acct string, days int) {
		if old, ok := out[acct]; !ok || days < 0 || (old >= 0 && days > old) {
			out[acct] = days
		}
	}
	var walk func(acct string, days int)
	walk = func(acct string, days int) {
		add(acct, days)
		for _, c := range m.children[acct] {
			if m.account(c).Inherit {
				walk(c, days)
			}
		}
	}
	for _, g := range m.grants {
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
