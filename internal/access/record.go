package access

import (
	"encoding/json"
	"math"
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
// naming no account is CodeInvalid. An explicit empty owner (null in the
// API) leaves the record unowned whatever owner_field says, and an explicit
// empty date leaves it undated whatever date_field says (records.md §4).
// Team entries naming one principal twice are merged (MergeTeams).
func (e *Engine) FillRecord(r *Record, explicitOwner, explicitDate bool) error {
	r.Teams = MergeTeams(r.Teams)
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

// MergeTeams takes the ERP's team list in good faith (records.md §4):
// entries naming one principal twice become one entry, at the place of the
// first, with the broader access (read_write over read). Entries whose
// access is neither read nor read_write are kept as they are, for
// ValidateRecord to refuse. teams itself is not modified.
func MergeTeams(teams []TeamEntry) []TeamEntry {
	valid := func(a string) bool { return a == AccessRead || a == AccessReadWrite }
	at := make(map[string]int, len(teams))
	var out []TeamEntry
	for _, te := range teams {
		if i, ok := at[te.Principal]; ok && valid(te.Access) && valid(out[i].Access) {
			if te.Access == AccessReadWrite {
				out[i].Access = AccessReadWrite
			}
			continue
		}
		if _, ok := at[te.Principal]; !ok && valid(te.Access) {
			at[te.Principal] = len(out)
		}
		out = append(out, te)
	}
	if len(out) == len(teams) {
		return teams
	}
	return out
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
	// Encoding the attributes only to measure them would cost more than
	// the rest of a write's checks: a bound that never under-counts their
	// encoded size settles almost every record, and only a record it
	// cannot settle (large, or holding values it does not know) is
	// encoded to be measured exactly.
	if n, ok := attributesBound(r.Attributes, MaxAttributesSize); ok && n <= MaxAttributesSize {
		return nil
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

// maxFloatLen is the longest encoding/json form of a finite float64
// ("-0.0000012345678901234567" is 25 bytes, "-1.2345678901234567e-308"
// 24), with room to spare.
const maxFloatLen = 32

// attributesBound returns an upper bound of the length of json.Marshal(v)
// for the values decoded JSON is made of (maps with string keys, slices,
// strings, float64, bool, nil), where it can tell that json.Marshal
// succeeds: ok is false for any other value, for NaN and infinities, and
// once the bound exceeds limit. A string counts six bytes per byte of
// text (\u00XX, the longest escape of one byte) plus its quotes.
func attributesBound(v any, limit int) (n int, ok bool) {
	switch x := v.(type) {
	case nil:
		return 4, true
	case bool:
		return 5, true
	case string:
		return 2 + 6*len(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		return maxFloatLen, true
	case map[string]any:
		if x == nil {
			return 4, true
		}
		n = 2 + len(x) // braces, colons and commas
		for k, e := range x {
			m, ok := attributesBound(e, limit)
			if !ok {
				return 0, false
			}
			if n += 2 + 6*len(k) + m; n > limit {
				return n, false
			}
		}
		return n, true
	case []any:
		if x == nil {
			return 4, true
		}
		n = 2 + len(x)
		for _, e := range x {
			m, ok := attributesBound(e, limit)
			if !ok {
				return 0, false
			}
			if n += m; n > limit {
				return n, false
			}
		}
		return n, true
	}
	return 0, false
}
