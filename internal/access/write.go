package access

import (
	"reflect"
	"slices"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Writable fields (records.md §1): which attribute paths a writer may set.
// The ERP owns a record's attributes; an external user sets only the
// type's writable_fields, narrowed by its roles' `writable`, and of those a
// restricted one only with the role's `fields` grant. Staff and tokens
// write everything.

// Writer is what one writer may set on records of one type, as the engine
// decides it (CanCreate for a create under an account, WritableFields for
// an update of a record): the union over the grants or paths that allow
// the write.
type Writer struct {
	// All is set for staff and tokens: every attribute, no check.
	All bool
	// Paths are the type's writable fields the writer's roles allow.
	Paths policy.PathSet
	// Fields are the restricted fields the writer's roles grant.
	Fields policy.FieldSet
}

// Writable lists the paths w may write on t, in declaration order: the
// type's writable fields w's roles allow, less those at or below a
// restricted field w lacks. For staff it is every writable field of the
// type (what a form offers; staff may write other attributes too).
func (w Writer) Writable(t *policy.Type) []policy.FieldPath {
	var out []policy.FieldPath
	for i, wp := range t.Writable {
		if w.All || (w.Paths.Has(i) && !w.blocked(t, wp.Segments, false)) {
			out = append(out, wp)
		}
	}
	return out
}

// blocked reports whether the changed path p is at or below a restricted
// field w lacks or, when p replaces a value as a whole (whole), above one:
// replacing "lines" would set or wipe the hidden "lines[].price".
func (w Writer) blocked(t *policy.Type, p []policy.PathSegment, whole bool) bool {
	for i, r := range t.Restricted {
		if w.Fields.Has(i) {
			continue
		}
		if covers(r.Segments, p) || (whole && covers(p, r.Segments)) {
			return true
		}
	}
	return false
}

// allows decides one changed path. A value changed as a whole (whole) or
// a leaf needs a writable path at or above it; a container created or
// emptied without content of its own (container) is fine when a writable
// path lies at, above or below it.
func (w Writer) allows(t *policy.Type, p []policy.PathSegment, container bool) bool {
	if w.blocked(t, p, !container) {
		return false
	}
	for i, wp := range t.Writable {
		if !w.Paths.Has(i) || w.blocked(t, wp.Segments, false) {
			continue
		}
		if covers(wp.Segments, p) || (container && covers(p, wp.Segments)) {
			return true
		}
	}
	return false
}

// covers reports whether path a is p or a prefix of p: "lines" covers
// "lines[].qty", "lines[].qty" covers itself, "a.b" does not cover
// "a[].b" (another shape than the path expects). The last segment of a
// matches whatever p does there: "lines" names the whole attribute.
func covers(a, p []policy.PathSegment) bool {
	if len(a) > len(p) {
		return false
	}
	for i := range a {
		if a[i].Name != p[i].Name || (i < len(a)-1 && a[i].Each != p[i].Each) {
			return false
		}
	}
	return true
}

// CheckWrite decides whether w may turn the attributes old (the stored
// ones; nil on a create) into next: every path whose value differs must
// be one w may write, so a form that sends back a read-only value as it
// was is fine. A value changed in place or of another shape is its own
// path; objects recurse into their keys ("a.b"); arrays into their
// elements by position, so a new order line {sku, qty} writes
// "lines[].sku" and "lines[].qty", any other key in a line is a write of
// "lines[].<key>", and an element that is no object is "lines[]", which
// no writable path names. An object or array added or removed empty is a
// path of its own, fine where a writable path lies at, above or below it.
// Null and absent are the same. A violation is CodeInvalidField with the
// message "field X cannot be written" whether X is read-only, hidden or
// unknown (no oracle), its Field the top-level attribute; X is the path
// without a final "[]" ("tags" for a scalar element of tags).
func CheckWrite(t *policy.Type, w Writer, old, next map[string]any) error {
	if w.All {
		return nil
	}
	var bad []policy.PathSegment
	changedPaths(nil, old, next, func(p []policy.PathSegment, container bool) bool {
		if w.allows(t, p, container) {
			return true
		}
		bad = p
		return false
	})
	if bad != nil {
		return FieldErrorf(CodeInvalidField, bad[0].Name, "field %s cannot be written", strings.TrimSuffix(PathString(bad), "[]"))
	}
	return nil
}

// PathString renders a path: segments joined by dots, "[]" after one that
// goes into an array's elements.
func PathString(p []policy.PathSegment) string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.Name)
		if s.Each {
			b.WriteString("[]")
		}
	}
	return b.String()
}

// changedPaths calls emit for each changed path below prefix (see
// CheckWrite), with whether it is an empty container; emit returning
// false stops the walk, and so does changedPaths.
// Keys are visited in order, so the first violation, which CheckWrite
// names, is always the same one.
func changedPaths(prefix []policy.PathSegment, old, next map[string]any, emit func([]policy.PathSegment, bool) bool) bool {
	keys := make([]string, 0, len(old)+len(next))
	for k := range old {
		if _, ok := next[k]; !ok {
			keys = append(keys, k)
		}
	}
	for k := range next {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !changedValue(with(prefix, k), old[k], next[k], emit) {
			return false
		}
	}
	return true
}

func with(prefix []policy.PathSegment, name string) []policy.PathSegment {
	return append(append(make([]policy.PathSegment, 0, len(prefix)+1), prefix...), policy.PathSegment{Name: name})
}

// changedValue compares the values at path p (nil: absent).
func changedValue(p []policy.PathSegment, old, next any, emit func([]policy.PathSegment, bool) bool) bool {
	if old == nil && next == nil || reflect.DeepEqual(old, next) {
		return true
	}
	om, oMap := old.(map[string]any)
	nm, nMap := next.(map[string]any)
	if (oMap || old == nil) && (nMap || next == nil) {
		n := 0
		ok := changedPaths(p, om, nm, func(q []policy.PathSegment, c bool) bool { n++; return emit(q, c) })
		if ok && n == 0 {
			return emit(p, true)
		}
		return ok
	}
	oa, oArr := old.([]any)
	na, nArr := next.([]any)
	// An array in an array matches no path ("lines[][]" cannot be
	// written): it is changed as a whole.
	if (oArr || old == nil) && (nArr || next == nil) && !p[len(p)-1].Each {
		each := append([]policy.PathSegment{}, p...)
		each[len(each)-1].Each = true
		n := 0
		count := func(q []policy.PathSegment, c bool) bool { n++; return emit(q, c) }
		for i := range max(len(oa), len(na)) {
			var o, x any
			if i < len(oa) {
				o = oa[i]
			}
			if i < len(na) {
				x = na[i]
			}
			if !changedValue(each, o, x, count) {
				return false
			}
		}
		if n == 0 {
			return emit(p, true)
		}
		return true
	}
	return emit(p, false)
}

// MergePatch applies an RFC 7396 JSON Merge Patch to a record's attributes
// (a PATCH): null deletes a key, objects merge recursively, anything else
// replaces. target is not modified.
func MergePatch(target, patch map[string]any) map[string]any {
	out := make(map[string]any, len(target)+len(patch))
	for k, v := range target {
		out[k] = v
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			tv, _ := out[k].(map[string]any)
			out[k] = MergePatch(tv, pv)
		default:
			out[k] = v
		}
	}
	return out
}
