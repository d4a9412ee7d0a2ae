package access

import (
	"maps"
	"net/mail"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// This file holds the shape rules of the model's values: the one place
// where an account, a user, a group or a grant is checked before it is
// stored. Callers (the use cases of package app) call Validate; the store
// trusts validated values and checks only what needs the database
// (uniqueness, references, cycles). Validate normalizes what it may
// (trimmed names, defaults) and reports the first problem as a
// CodeInvalid *Error whose Field names the input.

// Validate normalizes and checks an account: a valid id, a name (blank
// becomes the id), and a parent that is not the account itself.
func (a *Account) Validate() error {
	if !ValidID(a.ID) {
		return FieldErrorf(CodeInvalid, "id", "account id %q must be 1-64 characters of A-Za-z0-9._:-", a.ID)
	}
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		a.Name = a.ID
	}
	if a.Parent == a.ID {
		return FieldErrorf(CodeInvalid, "parent", "account %s cannot be its own parent", a.ID)
	}
	return nil
}

// Validate normalizes and checks a user against the policy: a valid id and
// email, a locale of Locales or none (empty: the user has not chosen, and
// pages follow its browser's Accept-Language), a known status and kind, a home account and no staff role for
// external users, a staff role and neither home account nor constraints for
// internal users, and constraints naming declared object types, declared
// fields of them and, where a field declares values, only those values,
// with at least one value each (records.md §4): a typo would otherwise
// leave the attribute unconstrained. Whether the home account exists is a reference,
// checked by the store (and by the engine in write checks).
func (u *User) Validate(pol *policy.Policy) error {
	if !ValidID(u.ID) {
		return FieldErrorf(CodeInvalid, "id", "user id %q must be 1-64 characters of A-Za-z0-9._:-", u.ID)
	}
	u.Email = strings.TrimSpace(u.Email)
	u.Name = strings.TrimSpace(u.Name)
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
		return FieldErrorf(CodeInvalid, "email", "email %q is not a valid address", u.Email)
	}
	if u.Name == "" {
		u.Name = u.Email
	}
	if u.Locale != "" && !slices.Contains(Locales, u.Locale) {
		return FieldErrorf(CodeInvalid, "locale", "locale must be en, de or zh")
	}
	switch u.Status {
	case StatusActive, StatusInvited, StatusDisabled:
	default:
		return FieldErrorf(CodeInvalid, "status", "status must be active, invited or disabled")
	}
	switch u.Kind {
	case KindExternal:
		if u.HomeAccount == "" {
			return FieldErrorf(CodeInvalid, "home_account", "an external user needs a home_account")
		}
		if u.StaffRole != "" {
			return FieldErrorf(CodeInvalid, "staff_role", "staff_role is for internal users")
		}
		if err := validateConstraints(pol, u.Constraints); err != nil {
			return err
		}
	case KindInternal:
		switch u.StaffRole {
		case StaffAdmin, StaffAccessManager, StaffAuditor:
		default:
			return FieldErrorf(CodeInvalid, "staff_role", "an internal user needs staff_role admin, access_manager or auditor")
		}
		if u.HomeAccount != "" || len(u.Constraints) > 0 {
			return FieldErrorf(CodeInvalid, "home_account", "home_account and constraints are for external users")
		}
	default:
		return FieldErrorf(CodeInvalid, "kind", "kind must be internal or external")
	}
	return nil
}

// Validate normalizes and checks a group: a valid id and a name (blank
// becomes the id).
func (g *Group) Validate() error {
	if !ValidID(g.ID) {
		return FieldErrorf(CodeInvalid, "id", "group id %q must be 1-64 characters of A-Za-z0-9._:-", g.ID)
	}
	g.Name = strings.TrimSpace(g.Name)
	if g.Name == "" {
		g.Name = g.ID
	}
	return nil
}

// MaxNotes is the longest grant note, in bytes.
const MaxNotes = 4000

// Validate fills a grant's defaults (scope subtree, access read_write) and
// checks its shape against the policy: a user: or group: principal, an
// account, a role of the policy, a known scope and access, a non-negative
// days_back, valid_from before valid_until and notes of at most MaxNotes
// bytes. Whether the principal and account exist is a reference, and the
// protected-role and delegation rules are the engine's (CheckGrant).
func (g *Grant) Validate(pol *policy.Policy) error {
	if g.Scope == "" {
		g.Scope = ScopeSubtree
	}
	if g.Access == "" {
		g.Access = AccessReadWrite
	}
	kind, id, _ := strings.Cut(g.Principal, ":")
	switch {
	case (kind != "user" && kind != "group") || id == "":
		return FieldErrorf(CodeInvalid, "principal", "principal must be user:<id> or group:<id>")
	case g.Scope != ScopeSubtree && g.Scope != ScopeAccount:
		return FieldErrorf(CodeInvalid, "scope", "scope must be subtree or account")
	case g.Access != AccessRead && g.Access != AccessReadWrite:
		return FieldErrorf(CodeInvalid, "access", "access must be read or read_write")
	case g.Account == "":
		return FieldErrorf(CodeInvalid, "account", "account is required")
	case pol.Role(g.Role) == nil:
		return FieldErrorf(CodeInvalid, "role", "role %q is not in the policy", g.Role)
	case g.DaysBack != nil && *g.DaysBack < 0:
		return FieldErrorf(CodeInvalid, "days_back", "days_back must be a non-negative integer or null")
	case g.ValidFrom != nil && g.ValidUntil != nil && !g.ValidFrom.Before(*g.ValidUntil):
		return FieldErrorf(CodeInvalid, "valid_until", "valid_from must be before valid_until")
	case len(g.Notes) > MaxNotes:
		return FieldErrorf(CodeInvalid, "notes", "notes are limited to %d characters", MaxNotes)
	}
	return nil
}

// validateConstraints checks constraints against the policy, in a fixed
// order so that the first error named is always the same. Every error is
// CodeInvalid with Field "constraints" and names the key or value.
func validateConstraints(pol *policy.Policy, cons map[string]map[string][]string) error {
	for _, typ := range slices.Sorted(maps.Keys(cons)) {
		t := pol.Type(typ)
		if t == nil {
			return FieldErrorf(CodeInvalid, "constraints", "constraints: unknown object type %s", typ)
		}
		if err := ValidateTypeConstraints(t, cons[typ]); err != nil {
			return err
		}
	}
	return nil
}

// ValidateTypeConstraints checks one object type's constraints (attribute
// to allowed values): every attribute a declared field of t with at least
// one value and, where the field declares values, only those. It is what
// User.Validate checks per type; the console calls it to put the message
// next to the type's editor. Errors are CodeInvalid with Field
// "constraints", naming the key or value.
func ValidateTypeConstraints(t *policy.Type, attrs map[string][]string) error {
	for _, attr := range slices.Sorted(maps.Keys(attrs)) {
		vals := attrs[attr]
		if attr == "" || len(vals) == 0 {
			return FieldErrorf(CodeInvalid, "constraints", "constraints.%s.%s must list at least one value", t.Name, attr)
		}
		f, ok := t.Fields[attr]
		if !ok {
			return FieldErrorf(CodeInvalid, "constraints", "constraints.%s: %s has no field %s", t.Name, t.Name, attr)
		}
		if len(f.Values) == 0 {
			continue
		}
		for _, v := range vals {
			if !slices.Contains(f.Values, v) {
				return FieldErrorf(CodeInvalid, "constraints", "constraints.%s.%s: %q is not one of %s", t.Name, attr, v, strings.Join(f.Values, ", "))
			}
		}
	}
	return nil
}
