package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

// MetaStore is the store the generator writes to: the storage interface
// plus sqlstore's bench-only methods for the dataset description
// (*sqlstore.Store).
type MetaStore interface {
	store.Store
	// Backend is "sqlite" or "postgres".
	Backend() string
	// SetBenchMeta and BenchMeta store and read the description.
	SetBenchMeta(ctx context.Context, value string) error
	BenchMeta(ctx context.Context) (string, error)
}

// metaVersion is the version of the Meta document; run refuses others.
const metaVersion = 1

// Meta describes a generated dataset: how it was made and what run needs
// to address it. It is stored as JSON in the bench_meta table.
type Meta struct {
	Version  int    `json:"version"`
	Size     Size   `json:"size"`
	Seed     uint64 `json:"seed"`
	Epoch    string `json:"epoch"`
	Backend  string `json:"backend"`
	Counts   Counts `json:"counts"`
	Checksum string `json:"checksum"`
	// GenSeconds is how long generation took.
	GenSeconds float64 `json:"gen_seconds"`

	AdminUser     string `json:"admin_user"`
	AdminEmail    string `json:"admin_email"`
	AdminPassword string `json:"admin_password"`
	// AdminToken is an API token of the admin (synthetic data only).
	AdminToken   string `json:"admin_token"`
	UserPassword string `json:"user_password"`

	// Classes are the four user classes of the list workloads.
	Classes []Class `json:"classes"`
	// RevokeUser holds L30 on RevokeKeep and RevokeAccount; revoke-visible
	// revokes and re-creates the grant on RevokeAccount.
	RevokeUser    string `json:"revoke_user"`
	RevokeKeep    string `json:"revoke_keep"`
	RevokeAccount string `json:"revoke_account"`
}

// Counts are the sizes of a generated dataset.
type Counts struct {
	Accounts     int `json:"accounts"`
	Users        int `json:"users"`
	Members      int `json:"members"`
	DirectGrants int `json:"direct_grants"`
	GroupGrants  int `json:"group_grants"`
	MultiUsers   int `json:"multi_customer_users"`
	Records      int `json:"records"`
	SalesOrders  int `json:"sales_orders"`
}

// Class is one user class of the list workloads.
type Class struct {
	Name        string `json:"name"`
	User        string `json:"user"`
	Email       string `json:"email"`
	Description string `json:"description"`
	// GrantAccounts are the accounts the user's direct grants name; Reach
	// counts the accounts they cover.
	GrantAccounts []string `json:"grant_accounts"`
	Reach         int      `json:"reach"`
	// Orders counts the sales orders the user can see (see ExpectedOrders).
	Orders OrderCount `json:"orders"`
}

// ExpectedOrders is the number of sales orders the class's user sees on
// the given day (days_back cutoffs move with the calendar).
func (c Class) ExpectedOrders(today time.Time) int {
	n := c.Orders.Fixed
	if len(c.Orders.ByDay) > 0 {
		cutoff := today.UTC().Truncate(24*time.Hour).AddDate(0, 0, -c.Orders.DaysBack).Format(time.DateOnly)
		for day, k := range c.Orders.ByDay {
			if day >= cutoff {
				n += k
			}
		}
	}
	return n
}

func backendName(st MetaStore) string { return st.Backend() }

// SaveMeta stores m in the bench_meta table, creating it when missing.
func SaveMeta(ctx context.Context, st MetaStore, m *Meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return st.SetBenchMeta(ctx, string(b))
}

// LoadMeta reads the dataset description Generate stored.
func LoadMeta(ctx context.Context, st MetaStore) (*Meta, error) {
	s, err := st.BenchMeta(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: run `portcullis bench gen` first", err)
	}
	var m Meta
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("bench_meta: %w", err)
	}
	if m.Version != metaVersion {
		return nil, fmt.Errorf("bench_meta version %d: regenerate the dataset with this version of portcullis", m.Version)
	}
	return &m, nil
}
