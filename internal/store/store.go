// Package store defines Portcullis' storage interfaces: everything Portcullis
// knows lives in a database behind them. Narrow interfaces, one per area
// (AccountStore, UserStore, GroupStore, GrantStore, RecordStore, AuthStore,
// AuditStore, PolicyStore, ChangeStore), combine into Store. Two backends
// implement it with one code base (package sqlstore): SQLite, the embedded
// default, and PostgreSQL for larger and highly-available deployments.
// Package storetest is the conformance suite both must pass.
//
// # Wiring
//
// The store does not construct or own the access engine. A caller opens the
// store, then starts a follower (package follow) that creates the engine,
// loads it from the store and keeps it in step:
//
//	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
//	...
//	defer st.Close()
//	f, err := follow.Start(ctx, st, follow.Options{})
//	...
//	defer f.Close() // before st.Close: deferred calls run in reverse
//	eng := f.Engine()
//
// follow.Start attaches the follower to the store (ChangeStore.Attach).
// From then on every write method applies its own change to the engine
// before it returns, a Write's Check sees the engine at the state committed
// before its transaction, and the follower's goroutine applies other
// nodes' changes within a second (LISTEN/NOTIFY plus polling).
//
// # Authorization
//
// The store is not an authorization layer for staff operations: callers
// decide who may call what with the access engine's rules
// (access.Engine.CheckGrant, CheckUser, CanCreate...). To make that decision
// atomic with the write, they pass it as Write.Check, which the store runs
// inside the write transaction after the engine has caught up with every
// earlier commit; writers are serialized, so nothing can commit between the
// check and the write. The one place the store itself enforces access is
// ListRecords/GetRecord with an external user's predicate: access to records
// is enforced in the query, and a record the predicate excludes is reported
// as not found.
//
// Every write method runs in one transaction that also increments the
// global revision, appends to the change log and, for everything but
// records, to the hash-chained audit log. Errors are *access.Error with the
// codes of DESIGN.md §3 (not_found, conflict, protected, invalid,
// invalid_field, too_large); a Check's error is returned unchanged; anything
// else is an internal error.
package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Write says who writes and what must still hold when the write commits.
// The zero Write is an anonymous, unchecked write (the store's own
// bookkeeping, tests).
type Write struct {
	// Actor is the audit actor: "user:<id>", "token:<id>",
	// "scim:<SCIM token id>" or "system:<name>" (app.Actor.AuditID).
	Actor string
	// By is who grants, policy versions and invitations record as their
	// creator (created_by): the acting user's id. Empty means Actor.
	By string
	// Check, when non-nil, runs inside the write transaction, after the
	// store's access engine reflects every revision committed before this
	// transaction and before anything is written; writers are serialized,
	// so nothing can commit between Check and this write's commit. A
	// non-nil error aborts the write and is returned unchanged (errors.Is
	// and errors.As work). Check must not call the store (the transaction
	// holds the write lock); it may read the engine.
	Check func() error
	// AuditPrefix, when set, is put before the action of every audit
	// entry the write makes: "scim." turns user.put into scim.user.put
	// for the changes of a SCIM client.
	AuditPrefix string
	// Mail is written to the outbox inside the same transaction, after
	// the write's own rows: the messages exist if and only if the write
	// commits (a write that changes nothing writes none).
	Mail []Message
}

// Creator returns what the write records as created_by: By, else Actor.
func (w Write) Creator() string {
	if w.By != "" {
		return w.By
	}
	return w.Actor
}

// Store is the whole storage interface. Implementations are safe for
// concurrent use.
type Store interface {
	AccountStore
	UserStore
	GroupStore
	GrantStore
	PolicyStore
	RecordStore
	AuthStore
	MFAStore
	AuditStore
	ChangeStore
	PreviewStore
	OutboxStore
	InvitationStore
	ConversationStore
	IdentityProviderStore
	SCIMStore
	ReviewStore

	// Atomic runs fn with a context in which every write of the store
	// joins one transaction at one revision: they all commit when fn
	// returns nil and none does when it returns an error. Reads in fn see
	// the state before the scope. An import makes a file all or nothing
	// with it.
	Atomic(ctx context.Context, w Write, fn func(ctx context.Context) error) (rev int64, err error)
	// Ping reports whether the database is reachable and migrations are
	// current (readiness).
	Ping(ctx context.Context) error
	// Backup writes a consistent copy of the database to path, a file that
	// must not exist yet. Backends that cannot (PostgreSQL: use pg_dump)
	// return an invalid error saying so.
	Backup(ctx context.Context, path string) error
	// Close releases the database. Stop the follower attached to the store
	// first.
	Close() error
}

// PreviewStore answers the impact preview's questions (governance.md §1)
// from the database. CountPredicateDiff counts the records of type typ
// that after selects and before does not (Gained) and the reverse (Lost),
// exactly, with up to sample ids of each, newest first (date descending,
// undated last, then id descending), without fetching the records.
type PreviewStore interface {
	CountPredicateDiff(ctx context.Context, typ string, before, after *access.Predicate, sample int) (PredicateDiff, error)
	// CountTypeUpTo counts the records of type typ, up to max (at least
	// 1): max means "max or more".
	CountTypeUpTo(ctx context.Context, typ string, max int) (int, error)
}

// PredicateDiff is CountPredicateDiff's answer.
type PredicateDiff struct {
	Gained, Lost             int
	SampleGained, SampleLost []string
}

// AccountStore stores the account tree. PutAccount creates or replaces an
// account (the caller has merged omitted fields); it rejects a missing
// parent and cycles (invalid). Switching external access on creates the
// account's group and its default grant when missing. DeleteAccount fails
// with conflict naming what blocks it (children, records, home users,
// grants) or protected when an Owner grant is on it.
type AccountStore interface {
	GetAccount(ctx context.Context, id string) (access.Account, error)
	ListAccounts(ctx context.Context, f AccountFilter) ([]access.Account, string, error)
	PutAccount(ctx context.Context, w Write, a access.Account) (created bool, rev int64, err error)
	DeleteAccount(ctx context.Context, w Write, id string) (rev int64, err error)
}

// UserStore stores users. Email is unique case-insensitively (conflict).
// DeleteUser removes the user's grants, memberships, sessions and tokens.
type UserStore interface {
	GetUser(ctx context.Context, id string) (access.User, error)
	GetUserByEmail(ctx context.Context, email string) (access.User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]access.User, string, error)
	PutUser(ctx context.Context, w Write, u access.User) (created bool, rev int64, err error)
	DeleteUser(ctx context.Context, w Write, id string) (rev int64, err error)
}

// GroupStore stores groups and their members. DeleteGroup deletes its
// grants and memberships.
type GroupStore interface {
	GetGroup(ctx context.Context, id string) (GroupWithMembers, error)
	ListGroups(ctx context.Context, f GroupFilter) ([]GroupWithMembers, string, error)
	PutGroup(ctx context.Context, w Write, g access.Group) (created bool, rev int64, err error)
	DeleteGroup(ctx context.Context, w Write, id string) (rev int64, err error)
	AddMember(ctx context.Context, w Write, groupID, userID string) (rev int64, err error)
	RemoveMember(ctx context.Context, w Write, groupID, userID string) (rev int64, err error)
}

// GrantStore stores grants. CreateGrant assigns the id and bookkeeping
// (created_by is w.Actor); a second grant for the same (principal, account)
// is conflict with ExistingID set. UpdateGrant replaces every field but id
// and bookkeeping. Protected rules are the caller's (access.Engine.CheckGrant,
// passed as Write.Check).
type GrantStore interface {
	GetGrant(ctx context.Context, id string) (access.Grant, error)
	ListGrants(ctx context.Context, f GrantFilter) ([]access.Grant, string, error)
	CreateGrant(ctx context.Context, w Write, g access.Grant) (access.Grant, int64, error)
	UpdateGrant(ctx context.Context, w Write, g access.Grant) (access.Grant, int64, error)
	DeleteGrant(ctx context.Context, w Write, id string) (rev int64, err error)
}

// PolicyStore stores the versions of the policy document. PutPolicy stores
// a new version and makes it current; it fails with conflict when it
// removes a role in use or unprotects one.
type PolicyStore interface {
	Policy(ctx context.Context) (PolicyVersion, error)
	PolicyVersions(ctx context.Context) ([]PolicyVersion, error)
	PutPolicy(ctx context.Context, w Write, source []byte) (PolicyVersion, int64, error)
}

// RecordStore stores records. PutRecord creates or replaces one record as
// given: owner and date already filled by the caller
// (access.Engine.FillRecord), shape validated with
// access.Engine.ValidateRecord; the store trusts the shape and rejects
// (invalid) only what it cannot encode: a date it cannot key, attributes
// that are not JSON or larger than access.MaxAttributesSize. The store
// assigns updated_at and revision. Batch applies up to
// MaxBatch upserts and deletes in one transaction, all or nothing; a bad
// item fails the batch with invalid and Items naming each bad index. Record
// writes are not audited; w.Check lets an external user's write be
// re-checked in the transaction.
type RecordStore interface {
	// GetRecord returns one record, whoever may see it, or not_found.
	GetRecord(ctx context.Context, typ, id string) (*access.Record, error)
	// GetRecords returns the records that exist among refs, for following
	// parents (an access.RecordSource for the engine).
	GetRecords(ctx context.Context, refs []access.Ref) (access.RecordMap, error)
	// GetRecordHeads is GetRecords without the attributes: every returned
	// record has empty Attributes. A batch import reads the records it
	// replaces with it.
	GetRecordHeads(ctx context.Context, refs []access.Ref) (access.RecordMap, error)
	// DecisionHeads returns the heads of the records among refs and of
	// their ancestors up to hops parents, for decisions: possibly from a
	// cache as fresh as Revision (every write on this node is reflected
	// when it returns; another node's once this node has caught up). The
	// records are shared and must not be modified.
	DecisionHeads(ctx context.Context, refs []access.Ref, hops int) (access.RecordMap, error)
	ListRecords(ctx context.Context, q RecordQuery) ([]*access.Record, string, error)
	// CountRecords counts the records ListRecords would list for q (its
	// predicate and filters; not its sort, cursor or limit), up to c.Max,
	// reading at most c.Max rows of the same plan: never a count of the
	// whole table. Errors as ListRecords.
	CountRecords(ctx context.Context, q RecordQuery, c RecordCount) (RecordTotals, error)
	PutRecord(ctx context.Context, w Write, r *access.Record) (created bool, rev int64, err error)
	// CreateNumberedRecord creates r (validated like PutRecord's) as the
	// next number of its type's sequence (records.md §1): inside the write
	// transaction it takes the next number not yet used as an id of the
	// type (10001 first), sets r.ID to n.Prefix and the number, and
	// r.Attributes[n.Field] to the same id. Concurrent creates never get
	// the same number.
	CreateNumberedRecord(ctx context.Context, w Write, r *access.Record, n Numbering) (rev int64, err error)
	DeleteRecord(ctx context.Context, w Write, typ, id string) (rev int64, err error)
	Batch(ctx context.Context, w Write, b RecordBatch) (BatchResult, error)
	// ImportRecords upserts a stream of chunks in one transaction, all or
	// nothing, and increments the revision once: a file import larger
	// than MaxBatch. It calls next inside the write transaction until
	// next returns io.EOF; each chunk (at most MaxBatch records) is
	// checked like a Batch's upserts, and a bad chunk fails the import
	// with Batch's invalid error, its Items indexed within that chunk
	// (the caller knows which chunk it handed out last). Any other error
	// of next aborts the import and is returned unchanged. The caller
	// guarantees that no (type, id) appears twice in the whole stream:
	// chunks of types that held no record when the import began are
	// written without looking up stored records, so a (type, id) given
	// twice there fails the import.
	ImportRecords(ctx context.Context, w Write, next func() ([]*access.Record, error)) (BatchResult, error)
}

// Numbering is how CreateNumberedRecord numbers a record: the id prefix and
// the attribute that also holds the id (the type's number_prefix and
// number_field).
type Numbering struct {
	Prefix, Field string
}

// AuthStore stores credentials: password hashes, API tokens and sessions,
// all by hash only. SetPassword stores a password hash (never the
// password) and revokes the user's sessions; PasswordHash returns it (""
// when none is set). RecordLogin sets a user's last_login_at (no revision,
// not audited: bookkeeping, not the access model). A token or session revoked on one node is refused by
// the others once they catch up.
type AuthStore interface {
	SetPassword(ctx context.Context, w Write, userID, hash string) (rev int64, err error)
	PasswordHash(ctx context.Context, userID string) (string, error)
	RecordLogin(ctx context.Context, userID string, at time.Time) error

	CreateToken(ctx context.Context, w Write, t Token) (Token, int64, error)
	ListTokens(ctx context.Context, userID string) ([]Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, error)
	DeleteToken(ctx context.Context, w Write, id string) (int64, error)

	CreateSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, hash string, at time.Time) error
	DeleteSession(ctx context.Context, hash string) error
	DeleteUserSessions(ctx context.Context, userID string) error
}

// SCIMStore stores SCIM provisioning (identity.md §8): SCIM tokens (by
// hash only, like API tokens), the externalId a SCIM client gave a user,
// and the groups a token created with their externalId and the role
// their grant carries on the token's account. A user or group keeps its
// SCIM data until it is deleted (the rows go with it). Every write is
// audited; a SCIM client's writes carry Write.AuditPrefix "scim.".
type SCIMStore interface {
	// CreateSCIMToken stores a new token (invalid for an empty hash or a
	// missing account) with a server-assigned id ("st_" and 12
	// characters) and audits scim.token.create.
	CreateSCIMToken(ctx context.Context, w Write, t SCIMToken) (SCIMToken, int64, error)
	// ListSCIMTokens lists every token in id order.
	ListSCIMTokens(ctx context.Context) ([]SCIMToken, error)
	// GetSCIMToken returns one token, or not_found.
	GetSCIMToken(ctx context.Context, id string) (SCIMToken, error)
	// SCIMTokenByHash returns the token with the hash, or not_found. It
	// reads the database every time, so a token revoked on one node is
	// refused by every node at once.
	SCIMTokenByHash(ctx context.Context, hash string) (SCIMToken, error)
	// DeleteSCIMToken revokes a token (not_found when missing) and audits
	// scim.token.delete; the users and groups it provisioned stay.
	DeleteSCIMToken(ctx context.Context, w Write, id string) (int64, error)

	// PutSCIMUser is PutUser and the user's externalId in one
	// transaction.
	PutSCIMUser(ctx context.Context, w Write, u access.User, externalID string) (created bool, rev int64, err error)
	// SCIMExternalIDs returns the externalIds of the users among ids that
	// have one.
	SCIMExternalIDs(ctx context.Context, ids []string) (map[string]string, error)

	// PutSCIMGroup creates or replaces a group of token g.TokenID in one
	// transaction: the group (its Account set), its members (replaced,
	// each change audited like AddMember and RemoveMember), its
	// externalId, and the grant of the group on g.Account: created,
	// changed to or deleted for g.Role ("" means none; scope subtree,
	// access read_write). A group of another token, or one no token
	// created, is not_found.
	PutSCIMGroup(ctx context.Context, w Write, g SCIMGroup) (created bool, rev int64, err error)
	// SCIMGroups lists the groups token created, in id order.
	SCIMGroups(ctx context.Context, tokenID string) ([]SCIMGroup, error)
	// GetSCIMGroup returns a group token created, or not_found.
	GetSCIMGroup(ctx context.Context, tokenID, id string) (SCIMGroup, error)
}

// SCIMToken is a SCIM client's credential, scoped to the subtree of
// Account: it sees the users homed there and the groups it created, and
// GroupRoles turns membership of a group with that displayName into the
// role on Account, never above MaxRole. Only the hash is stored.
type SCIMToken struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Account    string            `json:"account"`
	MaxRole    string            `json:"max_role"`
	GroupRoles map[string]string `json:"group_roles"`
	Hash       string            `json:"-"`
	CreatedBy  string            `json:"created_by"`
	CreatedAt  time.Time         `json:"created_at"`
}

// SCIMGroup is a group a SCIM token created: the group with its members,
// the token, the client's externalId, and the role its grant carries on
// the group's account ("" when it has none).
type SCIMGroup struct {
	GroupWithMembers
	TokenID    string
	ExternalID string
	Role       string
}

// MFAStore stores second factors (identity.md §6): one TOTP secret per
// user, sealed by the caller (the store never sees it in the clear), its
// recovery codes and the pending second steps of sign-ins, all by hash
// where they are secrets. Turning MFA on, off or resetting it is a write:
// it bumps the revision and is audited (mfa.enabled, mfa.disabled,
// mfa.reset, never with a secret); a pending enrolment, the use of a code
// and challenges are not. Deleting a user deletes all of it.
type MFAStore interface {
	// TOTP returns the user's TOTP state, or not_found when the user has
	// neither a pending nor an enabled secret.
	TOTP(ctx context.Context, userID string) (TOTP, error)
	// PutPendingTOTP stores a new pending secret, replacing a pending one;
	// conflict when the user has TOTP enabled, not_found for no user.
	PutPendingTOTP(ctx context.Context, userID, sealed string) error
	// EnableTOTP turns the pending secret on with the hashes of new
	// recovery codes, records step as used and audits mfa.enabled;
	// conflict when nothing is pending (or it is on already).
	EnableTOTP(ctx context.Context, w Write, userID string, step int64, recoveryHashes []string) (int64, error)
	// DeleteTOTP removes the user's secret, recovery codes and challenges
	// and audits action (mfa.disabled or mfa.reset); not_found when the
	// user has nothing to remove.
	DeleteTOTP(ctx context.Context, w Write, userID, action string) (int64, error)
	// UseTOTPStep records step as the newest used, atomically, and reports
	// false when it is not newer than the last one (a replay).
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode marks the unused recovery code with hash as used at
	// at, atomically, and reports false when there is none.
	UseRecoveryCode(ctx context.Context, userID, hash string, at time.Time) (bool, error)

	// CreateMFAChallenge stores a second sign-in step.
	CreateMFAChallenge(ctx context.Context, c MFAChallenge) error
	// MFAChallengeAttempt counts one attempt on the challenge with hash
	// and returns it with the attempts made so far, including this one;
	// not_found when there is none.
	MFAChallengeAttempt(ctx context.Context, hash string) (MFAChallenge, error)
	// DeleteMFAChallenge ends a challenge; a missing one is no error.
	// Expired challenges are deleted on the way.
	DeleteMFAChallenge(ctx context.Context, hash string, now time.Time) error
}

// TOTP is a user's TOTP state. Secret is the sealed form.
type TOTP struct {
	UserID    string
	Secret    string
	CreatedAt time.Time
	// EnabledAt is nil while the enrolment awaits its first code.
	EnabledAt *time.Time
	LastStep  int64
	// RecoveryLeft is how many unused recovery codes remain.
	RecoveryLeft int
}

// MFAChallenge is a sign-in waiting for its second factor; only the hash of
// its token is stored.
type MFAChallenge struct {
	Hash      string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Attempts  int
}

// AuditStore is the hash-chained audit log. Log appends an entry that is
// not a data change (a login, a view-as); VerifyAudit checks the chain.
type AuditStore interface {
	Log(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, string, error)
	VerifyAudit(ctx context.Context, expectHead string) (AuditVerification, error)
	AuditHead(ctx context.Context) (AuditHead, error)
}

// ChangeStore is the change log and the revision, through which one
// Follower per store instance (the access engine, package follow) is kept
// in step with the database.
type ChangeStore interface {
	// Attach makes f the store's follower: it loads f with the whole model
	// (Follower.Load) and from then on applies every committed revision to
	// it (Follower.Apply), after each local write before the write method
	// returns, inside write transactions that carry a Check, and in
	// CatchUp. A store has at most one follower; a second Attach fails.
	Attach(ctx context.Context, f Follower) error
	// Detach forgets the follower; writes no longer apply to it.
	Detach()
	// Revision returns the newest revision this store instance has
	// applied (to its follower and its caches).
	Revision() int64
	// WaitRevision waits until the store has applied at least rev,
	// polling the change log (not only notifications), or returns
	// CodeUnavailable when ctx ends first.
	WaitRevision(ctx context.Context, rev int64) error
	// CatchUp applies every revision committed (by this or another node)
	// and not yet applied.
	CatchUp(ctx context.Context) error
	// WaitForChange blocks until another node may have committed a
	// revision (on PostgreSQL a notification; on SQLite a new revision,
	// read when the file's data_version, watched every 25 ms, changed) or
	// ctx ends, whichever comes
	// first; it returns ctx's error in the second case. It may also
	// return for this node's own commits (CatchUp then has nothing to
	// apply), and a follower still catches up whenever it returns, in
	// case a notification was lost. An error other than ctx's means
	// notifications are unavailable for now (the next call retries).
	WaitForChange(ctx context.Context) error
}

// Follower is a view of the access model that a ChangeStore keeps in step
// with the database: the access engine (package follow). The store calls
// its methods one at a time, in revision order.
type Follower interface {
	// Load replaces the view's whole state with s.
	Load(s Snapshot) error
	// Apply brings the view from the previous revision applied to
	// d.Revision.
	Apply(d Delta) error
}

// Snapshot is the whole access model at one revision.
type Snapshot struct {
	Revision int64
	Policy   *policy.Policy
	Model    access.Snapshot
}

// Delta is what changed in the access model between two revisions, read
// from one consistent state at Revision. In each map a key names a changed
// entity and a nil value (false for Members) means it no longer exists.
type Delta struct {
	Revision int64
	// Policy is the current policy when it changed, else nil.
	Policy   *policy.Policy
	Accounts map[string]*access.Account
	Users    map[string]*access.User
	Groups   map[string]*access.Group
	// Members is keyed by "<group>/<user>".
	Members map[string]bool
	Grants  map[string]*access.Grant
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
	// Ranges filters declared date and number attributes to inclusive
	// bounds (a date bound is YYYY-MM-DD; an instant counts as its UTC
	// day's text prefix, as dates do).
	Ranges map[string]Range
	// Search, when set, keeps the records whose id or one of the named
	// string attributes contains Search.Text (case-insensitively for
	// Latin letters). The caller names only fields the viewer may filter
	// on, so a search never matches on a value the viewer cannot see.
	Search *TextSearch
	// UpdatedSince, for staff: records updated at or after it.
	UpdatedSince *time.Time
	// Parent, when set, restricts to the records whose parent is that
	// record (a related list, shared/design/records.md §3); the predicate
	// still selects which of them are visible, row by row.
	Parent *access.Ref
	// Sort is date, -date, id, -id, attr.<name>, -attr.<name>, updated_at
	// (staff); default -date.
	Sort   string
	Limit  int
	Cursor string
	// Raw returns each record's attributes undecoded in Record.Raw (see
	// access.Record.Raw), for callers that encode them as JSON.
	Raw bool
}

// Range is an inclusive range of a declared date or number attribute;
// a nil bound is open.
type Range struct {
	From, To any
}

// TextSearch is a substring search over a record's id and string
// attributes.
type TextSearch struct {
	Text   string
	Fields []string
}

// RecordCount asks CountRecords to count the records of a list, up to Max
// (at least 1), and, when Sum names a declared number attribute, to total
// it per value of the string attribute GroupBy ("" for one total).
type RecordCount struct {
	Max     int
	Sum     string
	GroupBy string
}

// RecordTotals is what CountRecords answers: N records (N == Max means
// "Max or more") and, when a sum was asked for, the totals of the counted
// records per group value ("" for records without one).
type RecordTotals struct {
	N    int
	Sums map[string]float64
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
	// MFAEnrolOnly marks the session of a user who must enrol in MFA
	// before anything else: it reaches only the enrolment endpoints.
	MFAEnrolOnly bool
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
	// Keyed marks an entry chained with HMAC-SHA256 under the audit key
	// (--audit-key): only the key's holder can compute its hash.
	Keyed bool `json:"keyed,omitempty"`
}

// AuditHead anchors the chain: the number of entries and the newest
// entry's hash ("" for an empty log). Kept outside the database (the
// server logs it every hour and at shutdown), it lets VerifyAudit detect
// a truncated or rewritten tail.
type AuditHead struct {
	Entries int64  `json:"entries"`
	Head    string `json:"head"`
}

// AuditFilter selects audit entries, newest first. Actor matches the
// actor in both forms the log has held (ActorForms): "U-ADMIN" and
// "user:U-ADMIN" select the same entries.
type AuditFilter struct {
	Actor  string
	Target string
	Action string
	Since  *time.Time
	Until  *time.Time
	Limit  int
	Cursor string
}

// ActorForms returns the audit actors an actor filter matches. Entries
// written since #12 name actors "user:<id>", "token:<id>",
// "scim:<SCIM token id>" or "system:<name>"; older data changes named a
// user by its bare id and the command line "cli" or "system". So a bare
// name matches itself and every prefixed form, "user:<id>" and
// "system:<name>" also match the bare name, and "token:<id>" and
// "scim:<id>" (which have no older form) only themselves.
func ActorForms(actor string) []string {
	kind, id, ok := strings.Cut(actor, ":")
	switch {
	case actor == "":
		return nil
	case !ok:
		return []string{actor, "user:" + actor, "token:" + actor, "scim:" + actor, "system:" + actor}
	case kind == "user" || kind == "system":
		return []string{actor, id}
	}
	return []string{actor}
}

// SharingAction is the audit action of a record write that changes the
// record's owner, teams or parent: who else may see it.
const SharingAction = "record.sharing"

// DeleteAction is the audit action of deleting a record: every path to
// it ends. Before holds the owner, teams and parent it had.
const DeleteAction = "record.delete"

// AuditVerification is the result of checking the hash chain.
type AuditVerification struct {
	OK       bool  `json:"ok"`
	Entries  int64 `json:"entries"`
	FirstBad int64 `json:"first_bad,omitempty"`
	// Head is the newest entry's hash.
	Head string `json:"head"`
	// Keyed counts the entries chained with the audit key.
	Keyed int64 `json:"keyed,omitempty"`
	// Problem says in a sentence why the chain does not verify.
	Problem string `json:"problem,omitempty"`
}
