// Package bench is `portcullis bench`: the deterministic dataset generator
// of docs/benchmarks.md (Generate), the workloads that measure a server
// over it (Run) and their report (Report, Compare).
//
// The generator writes the world of internal/worldgen through the real
// storage layer (store.Store: one transaction per account, user,
// membership and grant, store.Batch for the records), so a generated
// database is exactly what an ERP sync and an administrator would have
// produced, audit log included. What `run` needs to know about the dataset
// (size, seed, the user classes and their expected reach, the admin's API
// token) is kept next to the data in the bench_meta table.
package bench

import "github.com/portcullis-dev/portcullis/internal/worldgen"

// Size is one column of the dataset table (worldgen.Size).
type Size = worldgen.Size

// The sizes of docs/benchmarks.md.
var (
	Small  = worldgen.Small
	Medium = worldgen.Medium
	Large  = worldgen.Large
)

// SizeByName returns the named size: small, medium or large.
func SizeByName(name string) (Size, error) { return worldgen.SizeByName(name) }

// The named users of the world, as the workloads and reports name them.
const (
	// AdminUser is the internal admin the workloads authenticate as.
	AdminUser = "admin"

	UserSingle      = worldgen.UserSingle
	UserDistributor = worldgen.UserDistributor
	UserMulti       = worldgen.UserMulti50
	UserKey         = worldgen.UserKey
	UserRevoke      = worldgen.UserRevoke
)

// Passwords of the generated users: the data is synthetic and the
// benchmark signs in as these users through the API.
const (
	AdminPassword = "portcullis-bench-admin"
	UserPassword  = "portcullis-bench-user"
)
