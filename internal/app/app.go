// Package app holds Portcullis' use cases: everything a caller can do, for
// every surface (the JSON API, the customer portal, the admin console, the
// command line). A use case takes a context, the Actor it acts for and a
// typed input, decides whether the actor may do it, validates the input
// once (the domain's Validate methods), and reads or writes through the
// store. It knows nothing of HTTP: surfaces decode a request into a typed
// input, call one method, and encode the answer.
//
// # Authorization
//
// Every method documents who may call it and which error codes it returns
// (*access.Error codes of DESIGN.md §3). Reads of records are enforced in
// the store's query with the engine's predicate: a record the actor may not
// read is CodeNotFound, never a hint that it exists. Writes are authorized
// twice: once before the write to answer early, and again inside the
// store's write transaction (store.Write.Check) against the engine caught
// up to every revision committed before it, so that no concurrent change
// (a revoke of the actor's own grant, a policy change) can commit between
// the decision and the write.
package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Config holds the use cases' settings.
type Config struct {
	// Sessions bounds session lifetimes (12 h idle, 7 days by default).
	Sessions auth.SessionPolicy
	// Throttle limits sign-in attempts; nil uses the defaults.
	Throttle *auth.Throttle
	// Hasher is the one gate of every argon2 computation; nil means
	// auth.NewHasher(0, 0): the CPUs (at most auth.MaxConcurrentHashes) at
	// once, a 5 s queue timeout.
	Hasher *auth.Hasher
	// Observer is told about decisions and list queries (metrics); nil
	// means nobody listens.
	Observer Observer
	Logger   *slog.Logger
	// MFASecrets seals TOTP secrets at rest (--mfa-key); nil stores them
	// unencrypted.
	MFASecrets *auth.SecretBox
	// StaffMFA is StaffMFARequired or StaffMFAOptional (the default):
	// whether internal users must sign in with a second factor.
	StaffMFA string
	// MFAThrottle limits MFA code attempts; nil uses the defaults.
	MFAThrottle *auth.Throttle
	// Mail configures the links and the status of outgoing mail.
	Mail MailConfig
	// Conversation configures comments and files on records.
	Conversation ConversationConfig
}

// Observer receives measurements of the use cases, for metrics.
type Observer interface {
	// Decision is called for every answered access check.
	Decision(allowed bool)
	// ListQuery is called with the duration of every record list query.
	ListQuery(d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Decision(bool)           {}
func (nopObserver) ListQuery(time.Duration) {}

// App is the use-case layer over one store and the access engine kept in
// step with it. It is safe for concurrent use and holds no goroutines.
type App struct {
	st       store.Store
	eng      *access.Engine
	log      *slog.Logger
	obs      Observer
	sessions auth.SessionPolicy
	throttle *auth.Throttle
	// hasher bounds concurrent password hashing and verification (19 MiB
	// of memory each): every argon2 computation goes through it
	// (credentials.go).
	hasher *auth.Hasher
	// resets limits password reset requests (RequestPasswordReset).
	resets *auth.Throttle
	mfa    *mfaState
	mail   MailConfig
	// viewAs remembers when view as and as_user reads were last audited
	// (viewas.go).
	viewAs viewAsLog
	// talk configures comments and files (comments.go, files.go).
	talk ConversationConfig
}

// New returns the use cases over st and eng, the engine that reflects st.
func New(st store.Store, eng *access.Engine, cfg Config) *App {
	a := &App{st: st, eng: eng, log: cfg.Logger, obs: cfg.Observer, sessions: cfg.Sessions, throttle: cfg.Throttle,
		hasher: cfg.Hasher, mfa: newMFAState(cfg), mail: cfg.Mail, resets: auth.NewThrottle(auth.ThrottleConfig{}),
		talk: cfg.Conversation.withDefaults()}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.obs == nil {
		a.obs = nopObserver{}
	}
	if a.throttle == nil {
		a.throttle = auth.NewThrottle(auth.ThrottleConfig{})
	}
	if a.hasher == nil {
		a.hasher = auth.NewHasher(0, 0)
	}
	return a
}

// Engine returns the access engine, for surfaces that show the model
// (names, the account tree, the policy) without deciding anything.
func (a *App) Engine() *access.Engine { return a.eng }

// Now returns the engine's clock.
func (a *App) Now() time.Time { return a.eng.Now() }

// Revision returns the newest revision this node reflects.
func (a *App) Revision() int64 { return a.st.Revision() }

// MaxRevisionWait is how long AwaitRevision waits (DESIGN.md §5.11).
const MaxRevisionWait = 5 * time.Second

// AwaitRevision waits, at most MaxRevisionWait, until this node reflects
// revision rev (read-your-writes across nodes: min_revision). It fails with
// CodeInvalid for a negative revision and CodeUnavailable when the wait
// times out.
func (a *App) AwaitRevision(ctx context.Context, rev int64) error {
	if rev < 0 {
		return access.FieldErrorf(access.CodeInvalid, "min_revision", "min_revision must be a non-negative integer")
	}
	if a.st.Revision() >= rev {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRevisionWait)
	defer cancel()
	return a.st.WaitRevision(ctx, rev)
}

// Ready reports whether the database is reachable and migrated.
func (a *App) Ready(ctx context.Context) error { return a.st.Ping(ctx) }

// Actor is the authenticated user a use case acts for.
type Actor struct {
	User access.User
	// Token is set when the actor authenticated with an API token, whose
	// id is TokenID.
	Token   bool
	TokenID string
	// SCIM is set when the actor is a SCIM client (AuthenticateSCIM): the
	// token it authenticated with. Such an actor is neither staff nor an
	// external user; only the SCIM use cases (scim.go) admit it.
	SCIM *store.SCIMToken
	// Session is the hash of the session secret, for signing out.
	Session string
	// MFAEnrolOnly marks a session restricted to MFA enrolment: the user
	// must enrol before anything else (see SignIn).
	MFAEnrolOnly bool
	// System marks the command line and first-run setup, which act with
	// the trust of whoever holds the database: an admin that no user
	// record backs, so in-transaction checks do not look it up.
	System bool
}

// SystemActor returns the actor of the command line and of first-run
// setup, named name in the audit log ("cli", "system").
func SystemActor(name string) *Actor {
	return &Actor{System: true, User: access.User{ID: name, Kind: access.KindInternal, Name: name,
		Status: access.StatusActive, StaffRole: access.StaffAdmin}}
}

// ID returns the actor's user id.
func (c *Actor) ID() string { return c.User.ID }

// AuditID returns the actor as the audit log names it, the one form of
// every entry written since #12: "token:<token id>" for a request
// authenticated with an API token, "scim:<token id>" for a SCIM client
// (its own form: SCIM tokens are not API tokens and ids could repeat
// across the two), "system:<name>" for the command line
// and first-run setup, and "user:<user id>" otherwise. Grants, policy
// versions and invitations record the same string as their creator.
func (c *Actor) AuditID() string {
	switch {
	case c.SCIM != nil:
		return "scim:" + c.SCIM.ID
	case c.Token && c.TokenID != "":
		return "token:" + c.TokenID
	case c.System:
		return "system:" + c.User.ID
	}
	return "user:" + c.User.ID
}

// Internal reports whether the actor is supplier staff.
func (c *Actor) Internal() bool { return c.User.Kind == access.KindInternal }

// StaffWriter reports whether the actor may change access data: an admin
// or an access manager.
func (c *Actor) StaffWriter() bool {
	return c.Internal() && (c.User.StaffRole == access.StaffAdmin || c.User.StaffRole == access.StaffAccessManager)
}

// Admin reports whether the actor is a staff admin.
func (c *Actor) Admin() bool { return c.Internal() && c.User.StaffRole == access.StaffAdmin }

// write is the store.Write of a use case: the actor for the audit log
// (Actor.AuditID), the user id as created_by of what it creates, and the
// check to repeat inside the transaction.
func write(c *Actor, check func() error) store.Write {
	return store.Write{Actor: c.AuditID(), By: c.User.ID, Check: check}
}

// requireStaff answers CodeForbidden to external users.
func requireStaff(c *Actor) error {
	if !c.Internal() {
		return access.Errorf(access.CodeForbidden, "this endpoint is for staff")
	}
	return nil
}

// requireStaffWriter answers CodeForbidden to external users and auditors.
func requireStaffWriter(c *Actor) error {
	if !c.StaffWriter() {
		return access.Errorf(access.CodeForbidden, "you may not change this")
	}
	return nil
}

// staffWriterStill is the in-transaction form of requireStaffWriter: the
// actor is still an active staff writer in the engine.
func (a *App) staffWriterStill(c *Actor) func() error {
	return func() error {
		if c.System {
			return nil
		}
		u, ok := a.eng.User(c.User.ID)
		if !ok || u.Status != access.StatusActive || u.Kind != access.KindInternal ||
			(u.StaffRole != access.StaffAdmin && u.StaffRole != access.StaffAccessManager) {
			return access.Errorf(access.CodeForbidden, "you may not change this")
		}
		return nil
	}
}

// checkGrant is the engine's grant rule for the actor: CheckGrant, or for
// a system actor the protected-role rules alone.
func (a *App) checkGrant(c *Actor, old, next *access.Grant) error {
	if c.System {
		return a.eng.CheckProtected(old, next)
	}
	return a.eng.CheckGrant(c.ID(), old, next)
}

// checkUser is the engine's user rule for the actor: CheckUser, or for a
// system actor the protected-grant rule alone.
func (a *App) checkUser(c *Actor, old, next *access.User) error {
	if c.System {
		return a.eng.CheckUserProtected(old, next)
	}
	return a.eng.CheckUser(c.ID(), old, next)
}

// Page is one page of a list and the cursor of the next ("" on the last).
type Page[T any] struct {
	Items []T
	Next  string
}

// ListParams are the paging inputs of every list: Limit 0 means the
// default (50), above store.MaxListLimit it is cut (DESIGN.md §5.9).
type ListParams struct {
	Limit  int
	Cursor string
}

func (p ListParams) limit() int {
	switch {
	case p.Limit <= 0:
		return store.DefaultListLimit
	case p.Limit > store.MaxListLimit:
		return store.MaxListLimit
	}
	return p.Limit
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
