// Package store defines Portcullis' storage interface: everything Portcullis
// knows lives in a database behind it. Two backends implement it with one
// code base (package sqlstore): SQLite, the embedded default, and
// PostgreSQL for larger and highly-available deployments. Package storetest
// is the conformance suite both must pass.
//
// The store is not an authorization layer for staff operations: callers
// (the server) decide who may call what with the access engine's rules
// (access.Engine.CheckGrant, CheckUser, CanCreate...) before calling a
// write method. The one exception is ListRecords/GetRecord with an
// external user's predicate: access to records is enforced in the query,
// and a record the predicate excludes is reported as not found.
//
// Every write method runs in one transaction that also increments the
// global revision, appends to the change log and, for everything but
// records, to the hash-chained audit log. After it commits, the store's
// access engine (Engine) reflects the change before the method returns, so
// the very next request sees it. Errors are *access.Error with the codes
// of DESIGN.md §3 (not_found, conflict, protected, invalid, invalid_field);
// anything else is an internal error.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Store is the storage interface. Implementations are safe for concurrent
// use.
type Store interface {
	// Engine returns the access engine the store keeps in step with the
	// database (on PostgreSQL also with other nodes' changes).
	Engine() *access.Engine

	// Revision returns the newest revision this store instance has applied.
	Revision() int64
	// WaitRevision waits until the store has applied at least rev, polling
	// the change log, or returns CodeUnavailable when ctx ends first.
	WaitRevision(ctx context.Context, rev int64) error

	// Accounts. PutAccount creates or replaces an account (the caller has
	// merged omitted fields); it rejects a missing parent and cycles
	// (invalid). Switching external access on creates the account's group
	// and its default grant when missing. DeleteAccount fails with conflict
	// naming what blocks it (children, records, home users, grants) or
	// protected when an Owner grant is on it.
	GetAccount(ctx context.Context, id string) (access.Account, error)
	ListAccounts(ctx context.Context, f AccountFilter) ([]access.Account, string, error)
	PutAccount(ctx context.Context, actor string, a access.Account) (created bool, rev int64, err error)
	DeleteAccount(ctx context.Context, actor, id string) (rev int64, err error)

	// Users. Email is unique case-insensitively (conflict). DeleteUser
	// removes the user's grants, memberships, sessions and tokens.
	GetUser(ctx context.Context, id string) (access.User, error)
	GetUserByEmail(ctx context.Context, email string) (access.User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]access.User, string, error)
	PutUser(ctx context.Context, actor string, u access.User) (created bool, rev int64, err error)
	DeleteUser(ctx context.Context, actor, id string) (rev int64, err error)
	// SetPassword stores a password hash (never the password) and revokes
	// the user's sessions; PasswordHash returns it ("" when none is set).
	SetPassword(ctx context.Context, actor, userID, hash string) (rev int64, err error)
	PasswordHash(ctx context.Context, userID string) (string, error)

	// Groups and members. DeleteGroup deletes its grants and memberships.
	GetGroup(ctx context.Context, id string) (GroupWithMembers, error)
	ListGroups(ctx context.Context, f GroupFilter) ([]GroupWithMembers, string, error)
	PutGroup(ctx context.Context, actor string, g access.Group) (created bool, rev int64, err error)
	DeleteGroup(ctx context.Context, actor, id string) (rev int64, err error)
	AddMember(ctx context.Context, actor, groupID, userID string) (rev int64, err error)
	RemoveMember(ctx context.Context, actor, groupID, userID string) (rev int64, err error)

	// Grants. CreateGrant assigns the id and bookkeeping; a second grant for
	// the same (principal, account) is conflict with ExistingID set.
	// UpdateGrant replaces every field but id and bookkeeping. Protected
	// rules are the caller's (access.Engine.CheckGrant).
	GetGrant(ctx context.Context, id string) (access.Grant, error)
	ListGrants(ctx context.Context, f GrantFilter) ([]access.Grant, string, error)
	CreateGrant(ctx context.Context, actor string, g access.Grant) (access.Grant, int64, error)
	UpdateGrant(ctx context.Context, actor string, g access.Grant) (access.Grant, int64, error)
	DeleteGrant(ctx context.Context, actor, id string) (rev int64, err error)

	// Policy. PutPolicy stores a new version and makes it current; it fails
	// with conflict when it removes a role in use or unprotects one.
	Policy(ctx context.Context) (PolicyVersion, error)
	PolicyVersions(ctx context.Context) ([]PolicyVersion, error)
	PutPolicy(ctx context.Context, actor string, source []byte) (PolicyVersion, int64, error)

	// Records. PutRecord creates or replaces one record as given: owner and
	// date already filled by the caller (access.Engine.FillRecord), shape
	// validated with access.Engine.ValidateRecord (the store validates
	// again and rejects with invalid). The store assigns updated_at and
	// revision. Batch applies up to MaxBatch upserts and deletes
	// in one transaction, all or nothing; a bad item fails the batch with
	// invalid and Items naming each bad index.
	GetRecord(ctx context.Context, typ, id string) (*access.Record, error)
	// GetRecords returns the records that exist among refs, for following
	// parents (an access.RecordSource for the engine).
	GetRecords(ctx context.Context, refs []access.Ref) (access.RecordMap, error)
	ListRecords(ctx context.Context, q RecordQuery) ([]*access.Record, string, error)
	PutRecord(ctx context.Context, r *access.Record) (created bool, rev int64, err error)
	DeleteRecord(ctx context.Context, typ, id string) (rev int64, err error)
	Batch(ctx context.Context, b RecordBatch) (BatchResult, error)

	// API tokens and sessions are stored by hash only.
	CreateToken(ctx context.Context, actor string, t Token) (Token, int64, error)
	ListTokens(ctx context.Context, userID string) ([]Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, error)
	DeleteToken(ctx context.Context, actor, id string) (int64, error)
	CreateSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	DeleteUserSessions(ctx context.Context, userID string) error

	// Audit. Log appends an entry that is not a data change (a login, a
	// view-as); VerifyAudit checks the hash chain.
	Log(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error)
	VerifyAudit(ctx context.Context) (AuditVerification, error)

	// Ping reports whether the database is reachable and migrations are
	// current (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// MaxBatch is the largest number of items one Batch accepts.
const MaxBatch = 10000

// MaxListLimit caps a list page; DefaultListLimit is used when none is given.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// AccountFilter selects accounts. Cursor continues a previous page.
type AccountFilter struct {
	Parent *string // "" selects roots
	Query  string  // substring of id or name, case-insensitive
	Limit  int
	Cursor string
}

// UserFilter selects users.
type UserFilter struct {
	// HomeAccounts, when non-nil, restricts to users homed in these
	// accounts (a customer admin's reach).
	HomeAccounts []string
	Kind         string
	Query        string
	Limit        int
	Cursor       string
}

// GroupFilter selects groups.
type GroupFilter struct {
	Account string
	Limit   int
	Cursor  string
}

// GrantFilter selects grants.
type GrantFilter struct {
	Account   string
	Principal string
	// Accounts, when non-nil, restricts to grants on these accounts.
	Accounts []string
	Limit    int
	Cursor   string
}

// GroupWithMembers is a group and its member ids, sorted.
type GroupWithMembers struct {
	access.Group
	Members []string `json:"members"`
}

// PolicyVersion is one stored version of the policy document.
type PolicyVersion struct {
	Version   int       `json:"version"`
	Source    string    `json:"source"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Policy is the compiled document (nil in version lists).
	Policy *policy.Policy `json:"-"`
}

// RecordQuery is one page of a record list.
type RecordQuery struct {
	Type string
	// Predicate selects the visible records (access.Predicate.All for
	// staff). It is rendered into the query's WHERE clause.
	Predicate *access.Predicate
	// Account restricts to records owned by the account's subtree
	// (Accounts lists them, expanded by the caller).
	Accounts []string
	DateFrom string // YYYY-MM-DD, inclusive
	DateTo   string // YYYY-MM-DD, inclusive
	// Attrs filters attributes: each name maps to accepted values (OR);
	// names are declared fields, values already parsed by declared type.
	Attrs map[string][]any
	// UpdatedSince, for staff: records updated at or after it.
	UpdatedSince *time.Time
	// Sort is date, -date, id, -id, attr.<name>, -attr.<name>, updated_at
	// (staff); default -date.
	Sort   string
	Limit  int
	Cursor string
}

// RecordBatch is a bulk write.
type RecordBatch struct {
	Upsert []*access.Record
	Delete []access.Ref
}

// BatchResult reports a committed batch.
type BatchResult struct {
	Upserted int   `json:"upserted"`
	Deleted  int   `json:"deleted"`
	Revision int64 `json:"revision"`
}

// Token is an API token of an internal user; only its hash is stored.
type Token struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user"`
	Name      string     `json:"name"`
	Hash      string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
}

// Session is a browser session; only the hash of its secret is stored.
type Session struct {
	Hash      string
	UserID    string
	CreatedAt time.Time
	LastSeen  time.Time
}

// AuditEntry is one entry of the hash-chained audit log.
type AuditEntry struct {
	ID     int64           `json:"id"`
	Time   time.Time       `json:"time"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"`
	Target string          `json:"target"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
	// Hash commits to the entry and the previous entry's hash.
	Hash string `json:"hash"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Actor  string
	Target string
	Action string
	Since  *time.Time
	Until  *time.Time
	Limit  int
	Cursor string
}

// AuditVerification is the result of checking the hash chain.
type AuditVerification struct {
	OK       bool  `json:"ok"`
	Entries  int64 `json:"entries"`
	FirstBad int64 `json:"first_bad,omitempty"`
}
