package access

import (
	"encoding/json"
	"strings"
)

// MaxAttributesSize is the largest encoded attributes object of a record.
const MaxAttributesSize = 64 << 10

// FillRecord completes a record before it is written, per DESIGN.md §1 and
// §5.1. A write that carries no explicit owner re-derives it from the
// type's owner_field attribute when that names an existing account, and
// otherwise keeps the owner r already has (the stored one on an update,
// none on a create), so a sync that omits the attribute never wipes it.
// The date is re-derived from date_field the same way. An explicit owner
// naming no account is CodeInvalid.
func (e *Engine) FillRecord(r *Record, explicitOwner, explicitDate bool) error {
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.pol.Type(r.Type)
	if t == nil {
		return Errorf(CodeNotFound, "unknown object type %s", r.Type)
	}
	if explicitOwner {
		if r.Owner != "" && e.accounts[r.Owner] == nil {
			return Errorf(CodeInvalid, "owner %s is not an account", r.Owner)
		}
	} else if s, ok := r.Attributes[t.OwnerField].(string); ok && t.OwnerField != "" && e.accounts[s] != nil {
		r.Owner = s
	}
	if !explicitDate && t.DateField != "" {
		if s, ok := r.Attributes[t.DateField].(string); ok {
			if _, err := Day(s); err == nil {
				r.Date = s
			}
		}
	}
	return nil
}

// ValidateRecord checks a record's shape against the current policy: a
// known type (CodeNotFound), valid ids, a valid date, a parent of the type's
// parent_type, well-formed team entries and attributes of at most
// MaxAttributesSize bytes (CodeInvalid). A parent or team entry naming
// something that does not exist is fine: that path simply does not apply.
func (e *Engine) ValidateRecord(r *Record) error {
	t := e.Policy().Type(r.Type)
	if t == nil {
		return Errorf(CodeNotFound, "unknown object type %s", r.Type)
	}
	if !ValidID(r.ID) {
		return Errorf(CodeInvalid, "record id %q must be 1-64 characters of A-Za-z0-9._:-", r.ID)
	}
	if _, err := Day(r.Date); err != nil {
		return err
	}
	if r.Parent != nil {
		if t.ParentType == "" {
			return Errorf(CodeInvalid, "%s records have no parent type", t.Name)
		}
		if r.Parent.Type != t.ParentType {
			return Errorf(CodeInvalid, "the parent of a %s must be a %s, not %q", t.Name, t.ParentType, r.Parent.Type)
		}
		if !ValidID(r.Parent.ID) {
			return Errorf(CodeInvalid, "parent id %q is not a valid id", r.Parent.ID)
		}
	}
	seen := map[string]bool{}
	for i, te := range r.Teams {
		kind, id, _ := strings.Cut(te.Principal, ":")
		if (kind != "user" && kind != "account") || !ValidID(id) {
			return Errorf(CodeInvalid, "teams[%d]: principal %q must be user:<id> or account:<id>", i, te.Principal)
		}
		if te.Access != AccessRead && te.Access != AccessReadWrite {
			return Errorf(CodeInvalid, "teams[%d]: access must be read or read_write", i)
		}
		if seen[te.Principal] {
			return Errorf(CodeInvalid, "teams[%d]: %s is listed twice", i, te.Principal)
		}
		seen[te.Principal] = true
	}
	if r.Creator != "" && !ValidID(r.Creator) {
		return Errorf(CodeInvalid, "creator %q is not a valid id", r.Creator)
	}
	b, err := json.Marshal(r.Attributes)
	if err != nil {
		return Errorf(CodeInvalid, "attributes: %v", err)
	}
	if len(b) > MaxAttributesSize {
		return Errorf(CodeInvalid, "attributes are %d bytes, more than the %d allowed", len(b), MaxAttributesSize)
	}
	return nil
}
