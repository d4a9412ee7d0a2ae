// Package access is Portcullis' domain model and decision engine. It holds
// the accounts tree, users, groups and grants in memory, derives per user
// "which accounts do my grants reach, with which role, access and date
// cutoff", and answers every access question of DESIGN.md §2: Allowed, the
// row Predicate a storage backend renders as SQL, Explain, Viewers, the
// create/update rules, constraints and delegated administration.
//
// The package does no I/O. Records are not kept here: callers pass the record
// being decided, and a RecordSource to look up its parents for sharing rules.
package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// User kinds, statuses and staff roles.
const (
	KindInternal = "internal"
	KindExternal = "external"

	StatusActive   = "active"
	StatusInvited  = "invited"
	StatusDisabled = "disabled"

	StaffAdmin         = "admin"
	StaffAccessManager = "access_manager"
	StaffAuditor       = "auditor"
)

// Grant scopes and access levels.
const (
	ScopeSubtree = "subtree"
	ScopeAccount = "account"

	AccessRead      = "read"
	AccessReadWrite = "read_write"
)

// Account is a business partner or a part of one, arranged in a tree.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Parent is the parent account's id, or "" for a root.
	Parent string `json:"parent"`
	// ExternalAccess is the "Allow External Users" switch: grants on this
	// account are active only while it is on.
	ExternalAccess bool `json:"external_access"`
	// Inherit false breaks the chain: grants on ancestors do not reach this
	// account or its subtree.
	Inherit bool `json:"inherit"`
	// RequireMFA makes every user homed in this account or below it sign
	// in with a second factor (Engine.RequiresMFA); inherit does not
	// break it.
	RequireMFA bool `json:"require_mfa"`
}

// User is a member of the supplier's staff (internal) or of a customer or
// partner (external).
type User struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	HomeAccount string `json:"home_account,omitempty"`
	Status      string `json:"status"`
	StaffRole   string `json:"staff_role,omitempty"`
	// Constraints are, per object type and attribute, the values the user
	// may write. An attribute not named is unconstrained.
	Constraints map[string]map[string][]string `json:"constraints,omitempty"`
	// Locale is the language of the user's pages and messages: one of
	// Locales, or empty when the user has not chosen one (pages follow the
	// browser's Accept-Language, then the server's default; messages are
	// in LocaleDefault).
	Locale string `json:"locale"`
	// LastLoginAt is the user's last successful sign-in, nil when never.
	// It is bookkeeping the store keeps (store.AuthStore.RecordLogin), not
	// part of the access model: writes of a user leave it as stored, and
	// the engine does not keep it (read it from the store).
	LastLoginAt *time.Time `json:"last_login_at"`
}

// Locales are the languages a user may have; LocaleDefault is the one a
// user without a choice gets.
var Locales = []string{"en", "de", "zh"}

// LocaleDefault is the language of a user that names none where no
// browser or server default says otherwise (messages, the API).
const LocaleDefault = "en"

// Group is a named set of users. Account groups (Account set) are created by
// switching an account's external access on.
type Group struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Account string `json:"account,omitempty"`
}

// AccountGroupID is the id of the group created for an account when its
// external access is switched on.
func AccountGroupID(account string) string { return "acct:" + account }

// Grant is one row of the External Access table: a principal holds a role
// on an account.
type Grant struct {
	ID string `json:"id"`
	// Principal is "user:<id>" or "group:<id>".
	Principal string `json:"principal"`
	Account   string `json:"account"`
	Role      string `json:"role"`
	// Scope is "subtree" (default) or "account".
	Scope string `json:"scope"`
	// Access is "read_write" (default) or "read".
	Access string `json:"access"`
	// DaysBack, when set, hides records dated more than that many days
	// before today (UTC).
	DaysBack   *int       `json:"days_back"`
	ValidFrom  *time.Time `json:"valid_from"`
	ValidUntil *time.Time `json:"valid_until"`
	Notes      string     `json:"notes"`
	// Source tells who keeps the grant, read-only: "" for a grant made by
	// hand, "idp:<provider>" for one an identity provider's group_roles
	// keep in step with its groups claim at every sign-in, "jit:<provider>"
	// for the first grant of a user a provider created (identity.md §7).
	Source    string    `json:"source"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Ref names a record.
type Ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// TeamEntry is one External Related Team entry of a record.
type TeamEntry struct {
	// Principal is "user:<id>" or "account:<id>".
	Principal string `json:"principal"`
	// Access is "read" or "read_write".
	Access string `json:"access"`
}

// Record is a business object the ERP pushed or a portal user created. The
// engine reads only its metadata and, for masking and constraints, its
// attributes.
type Record struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	// Owner is the External Owner account id, or "".
	Owner string `json:"owner"`
	// Date is "YYYY-MM-DD" or an RFC 3339 instant, or "" for undated.
	Date       string         `json:"date,omitempty"`
	Parent     *Ref           `json:"parent,omitempty"`
	Teams      []TeamEntry    `json:"teams,omitempty"`
	Creator    string         `json:"creator,omitempty"`
	Attributes map[string]any `json:"attributes"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Revision   int64          `json:"revision"`
	// Raw, when not nil, holds the attributes as the store keeps them (a
	// JSON object) instead of Attributes, which is then nil: a list asked
	// for it so that a viewer who may see every field of the record gets
	// the bytes passed through, never decoded. View decodes it when it
	// must mask; DecodeRaw decodes it for any other reader.
	Raw []byte `json:"-"`
}

// DecodeRaw moves r's Raw attributes into Attributes.
func (r *Record) DecodeRaw() error {
	if r.Raw == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.Raw, &m); err != nil {
		return fmt.Errorf("record %s/%s: attributes: %w", r.Type, r.ID, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	r.Attributes, r.Raw = m, nil
	return nil
}

// RecordSource looks up records by reference; the engine uses it to follow
// a record's parent for sharing rules. It returns nil for a missing record.
type RecordSource interface {
	Record(ref Ref) *Record
}

// RecordMap is a RecordSource backed by a map.
type RecordMap map[Ref]*Record

// Record implements RecordSource.
func (m RecordMap) Record(ref Ref) *Record { return m[ref] }

// idChars marks the bytes of a valid id: A-Za-z0-9._:-
var idChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
	}
	return t
}()

// ValidID reports whether s is a valid caller-chosen key: 1–64 characters of
// A-Za-z0-9._:- (a byte loop: every import line checks two ids, and the
// regular expression this was cost 125 ns each).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idChars[s[i]] {
			return false
		}
	}
	return true
}

// Day returns the UTC calendar date of a record date ("YYYY-MM-DD" or an
// RFC 3339 instant) as "YYYY-MM-DD", "" for "", or an error.
func Day(date string) (string, error) {
	if date == "" {
		return "", nil
	}
	if len(date) == 10 {
		if _, err := time.Parse(time.DateOnly, date); err != nil {
			return "", Errorf(CodeInvalid, "date %q is not YYYY-MM-DD or an RFC 3339 instant", date)
		}
		return date, nil
	}
	t, err := time.Parse(time.RFC3339Nano, date)
	if err != nil {
		return "", Errorf(CodeInvalid, "date %q is not YYYY-MM-DD or an RFC 3339 instant", date)
	}
	return t.UTC().Format(time.DateOnly), nil
}

// Error codes shared by every layer; the server maps each to an HTTP status
// in one table.
const (
	CodeInvalid             = "invalid"
	CodeInvalidField        = "invalid_field"
	CodeUnauthenticated     = "unauthenticated"
	CodeForbidden           = "forbidden"
	CodeConstraintViolation = "constraint_violation"
	CodeNotFound            = "not_found"
	CodeConflict            = "conflict"
	CodeProtected           = "protected"
	CodeTooLarge            = "too_large"
	CodeRateLimited         = "rate_limited"
	CodeUnavailable         = "unavailable"
	CodeInternal            = "internal"
)

// Error is a domain error whose message is safe to show to the caller.
type Error struct {
	Code    string
	Message string
	// Field names the input the error is about ("email", "days_back",
	// "attributes.status"), when there is one, so that a form can mark that
	// input without reading the message. It is never a hidden field's name
	// unless the caller named it itself.
	Field string
	// ExistingID names the grant a conflict is about, when there is one.
	ExistingID string
	// Items are per-item problems of a batch.
	Items []ItemError
}

// ItemError is a problem with one item of a batch, by index.
type ItemError struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an *Error about one input field.
func FieldErrorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err's *Error, CodeInternal for any other
// error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
