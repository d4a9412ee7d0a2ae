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
	u := e.users[userID]
	if u == nil {
		return nil, false
	}
	d := e.newDecision(u, src)
	return e.view(&d, r, nil)
}

// ViewPage is View for every record of a list page, decided under one read
// lock and one clock reading with one decision (its per-call caches, and
// whether a grant covers each owner account, shared by the rows): out[i]
// is recs[i] as the user may see it, nil when the user may not read it.
func (e *Engine) ViewPage(userID string, recs []*Record, src RecordSource) []*Record {
	out := make([]*Record, len(recs))
	e.mu.RLock()
	defer e.mu.RUnlock()
	u := e.users[userID]
	if u == nil {
		return out
	}
	d := e.newDecision(u, src)
	owners := map[string]bool{}
	for i, r := range recs {
		if v, ok := e.view(&d, r, owners); ok {
			out[i] = v
		}
	}
	return out
}

// view is View under the caller's read lock, for d's user. owners, when
// not nil, remembers per owner account whether a grant of the user covers
// it (that does not depend on the record: no date applies).
func (e *Engine) view(d *decision, r *Record, owners map[string]bool) (*Record, bool) {
	u := d.u
	fields, ok := d.visibleFields(r)
	if !ok {
		return nil, false
	}
	out := *r
	if u.Kind == KindInternal {
		if r.Raw == nil {
			out.Attributes = copyAttrs(r.Attributes)
		}
		return &out, true
	}
	t := e.pol.Type(r.Type)
	out.Teams = nil
	ownerSeen, known := owners[r.Owner]
	if !known {
		a := e.accounts[r.Owner]
		ownerSeen = a != nil && d.covering(a, nil, func(*grant) bool { return true })
		if owners != nil {
			owners[r.Owner] = ownerSeen
		}
	}
	if !ownerSeen {
		out.Owner = ""
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
		pr := d.src.Record(*r.Parent)
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
