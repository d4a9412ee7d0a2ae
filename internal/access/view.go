package access

import (
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// View returns the record as the user may see it, and false when the user
// may not read it. Staff see everything. For an external user the copy
// omits restricted fields no read path grants (nested and array paths
// included), teams, the owner and the type's owner_field attribute unless
// a grant of the user covers the owner, the parent unless the user can
// read it, and the creator unless it is the user or shares the user's home
// account: one customer never learns another's ids from a shared record.
// r itself is not modified.
func (e *Engine) View(userID string, r *Record, src RecordSource) (*Record, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	fields, ok := e.visibleFields(userID, r, src)
	if !ok {
		return nil, false
	}
	u := e.users[userID]
	out := *r
	if u.Kind == KindInternal {
		if r.Raw == nil {
			out.Attributes = copyAttrs(r.Attributes)
		}
		return &out, true
	}
	t := e.pol.Type(r.Type)
	out.Teams = nil
	d := e.newDecision(u, src)
	ownerSeen := true
	if a := e.accounts[r.Owner]; a == nil || !d.covering(a, nil, func(*grant) bool { return true }) {
		out.Owner = ""
		ownerSeen = false
	}
	// Raw attributes pass through untouched when nothing of them is
	// hidden: every restricted field visible and the owner field, if any,
	// shown. Otherwise they are decoded and masked like any others (a
	// failure to decode hides them all: masks fail closed).
	if r.Raw != nil && (fields != t.AllFields() || (!ownerSeen && t.OwnerField != "")) {
		if err := out.DecodeRaw(); err != nil {
			out.Raw, out.Attributes = nil, map[string]any{}
		}
	}
	if out.Raw == nil {
		out.Attributes = copyAttrs(out.Attributes)
		Mask(t, fields, out.Attributes)
		if !ownerSeen && t.OwnerField != "" {
			delete(out.Attributes, t.OwnerField)
		}
	}
	if r.Parent != nil {
		pr := src.Record(*r.Parent)
		pt := e.pol.Type(r.Parent.Type)
		if pr == nil || pt == nil || !d.walk(pr, pt, func(p path) bool { return d.allows(&p, pr, pt, policy.Read) }) {
			out.Parent = nil
		}
	}
	if c := e.users[r.Creator]; r.Creator != u.ID && (c == nil || c.HomeAccount == "" || c.HomeAccount != u.HomeAccount) {
		out.Creator = ""
	}
	return &out, true
}

// Mask removes from attrs, in place, every restricted field of t not in
// visible.
func Mask(t *policy.Type, visible policy.FieldSet, attrs map[string]any) {
	for i, f := range t.Restricted {
		if !visible.Has(i) {
			f.Strip(attrs)
		}
	}
}

// copyAttrs deep-copies a JSON object so masking never touches the
// caller's record.
func copyAttrs(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

// CopyValue deep-copies a decoded JSON value (maps and slices), so the
// copy can be changed without touching v.
func CopyValue(v any) any { return copyValue(v) }

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyAttrs(x)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = copyValue(el)
		}
		return out
	}
	return v
}
