// Package bench is `portcullis bench`: the deterministic dataset generator
// of shared/BENCHMARKS.md (Generate), the workloads that measure a server
// over it (Run) and their report (Report, Compare).
//
// The generator writes through the real storage layer (store.Store: one
// transaction per account, user, membership and grant, store.Batch for the
// records), so a generated database is exactly what an ERP sync and an
// administrator would have produced, audit log included. What `run` needs
// to know about the dataset (size, seed, the user classes and their
// expected reach, the admin's API token) is kept next to the data in the
// bench_meta table.
package bench

import (
	"fmt"
	"sort"
	"strings"
)

// Size is one column of the dataset table of BENCHMARKS.md.
type Size struct {
	Name         string `json:"name"`
	Customers    int    `json:"customers"`
	Distributors int    `json:"distributors"`
	// Users counts the ordinary external users; the benchmark's named users
	// and the admin come on top.
	Users int `json:"users"`
	// DirectGrants is the number of direct user grants to reach; the
	// account groups' default grants come on top.
	DirectGrants int `json:"direct_grants"`
	// Records is the total number of records, KeyOrders included.
	Records int `json:"records"`
	// KeyOrders is the number of sales orders the key account's tree owns
	// (the key-account user class sees exactly these).
	KeyOrders int `json:"key_orders"`
}

// The sizes of BENCHMARKS.md.
var (
	Small  = Size{Name: "small", Customers: 200, Distributors: 10, Users: 1_000, DirectGrants: 2_500, Records: 100_000, KeyOrders: 20_000}
	Medium = Size{Name: "medium", Customers: 2_000, Distributors: 100, Users: 10_000, DirectGrants: 25_000, Records: 1_000_000, KeyOrders: 200_000}
	Large  = Size{Name: "large", Customers: 20_000, Distributors: 500, Users: 100_000, DirectGrants: 250_000, Records: 10_000_000, KeyOrders: 200_000}
)

var sizes = map[string]Size{Small.Name: Small, Medium.Name: Medium, Large.Name: Large}

// SizeByName returns the named size: small, medium or large.
func SizeByName(name string) (Size, error) {
	s, ok := sizes[name]
	if !ok {
		names := make([]string, 0, len(sizes))
		for n := range sizes {
			names = append(names, n)
		}
		sort.Strings(names)
		return Size{}, fmt.Errorf("unknown size %q: use %s", name, strings.Join(names, ", "))
	}
	return s, nil
}

// validate checks that a size can hold the named users and accounts the
// benchmarks rely on.
func (s Size) validate() error {
	switch {
	case s.Customers < 60:
		return fmt.Errorf("size %s: at least 60 customers are needed (the multi-customer users hold 50)", s.Name)
	case s.Distributors < 2:
		return fmt.Errorf("size %s: at least 2 distributors are needed", s.Name)
	case s.Users < 100:
		return fmt.Errorf("size %s: at least 100 users are needed", s.Name)
	case s.KeyOrders < 1 || s.Records < 2*s.KeyOrders:
		return fmt.Errorf("size %s: key orders must be positive and at most half the records", s.Name)
	}
	return nil
}
