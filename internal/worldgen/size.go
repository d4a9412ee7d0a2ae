// Package worldgen generates the synthetic supplier of docs/benchmarks.md:
// an account tree of customers, sold-tos, sites, distributors and stores,
// external users, account group memberships, direct grants, and the
// vocabulary its records are drawn from. It is deterministic: equal size,
// seed and epoch give an equal world.
//
// One generator serves both users of that world: `portcullis bench gen`
// (internal/bench), which writes it through the store, and the engine's
// benchmarks (internal/access), which load it into an engine in memory.
// Each draws its records from the model with its own record stream, because
// they keep records differently (a streamed batch with attributes versus a
// compact in-memory slice with attributes built on demand).
package worldgen

import (
	"fmt"
	"sort"
	"strings"
)

// Size is one column of the dataset table of docs/benchmarks.md.
type Size struct {
	Name         string `json:"name"`
	Customers    int    `json:"customers"`
	Distributors int    `json:"distributors"`
	// Users counts the ordinary external users; the named users come on
	// top.
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

// The sizes of docs/benchmarks.md.
var (
	Small  = Size{Name: "small", Customers: 200, Distributors: 10, Users: 1_000, DirectGrants: 2_500, Records: 100_000, KeyOrders: 20_000}
	Medium = Size{Name: "medium", Customers: 2_000, Distributors: 100, Users: 10_000, DirectGrants: 25_000, Records: 1_000_000, KeyOrders: 200_000}
	Large  = Size{Name: "large", Customers: 20_000, Distributors: 500, Users: 100_000, DirectGrants: 250_000, Records: 10_000_000, KeyOrders: 200_000}
)

// Sizes are the sizes by name.
var Sizes = map[string]Size{Small.Name: Small, Medium.Name: Medium, Large.Name: Large}

// SizeByName returns the named size: small, medium or large.
func SizeByName(name string) (Size, error) {
	s, ok := Sizes[name]
	if !ok {
		names := make([]string, 0, len(Sizes))
		for n := range Sizes {
			names = append(names, n)
		}
		sort.Strings(names)
		return Size{}, fmt.Errorf("unknown size %q: use %s", name, strings.Join(names, ", "))
	}
	return s, nil
}

// Validate checks that a size can hold the named users and accounts the
// benchmarks rely on.
func (s Size) Validate() error {
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
