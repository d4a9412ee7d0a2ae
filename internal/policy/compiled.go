package policy

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// MaxRoles and MaxRestrictedFields bound a policy so that role sets and
// field sets fit in one machine word; Validate enforces both.
const (
	MaxRoles            = 64
	MaxRestrictedFields = 64
	MaxWritableFields   = 64
)

// Actions is a set of actions as a bit mask.
type Actions uint8

// The action bits.
const (
	Read Actions = 1 << iota
	Create
	Update
	Delete
)

// ParseAction returns the bit of a named action, or false.
func ParseAction(name string) (Actions, bool) {
	switch name {
	case ActionRead:
		return Read, true
	case ActionCreate:
		return Create, true
	case ActionUpdate:
		return Update, true
	case ActionDelete:
		return Delete, true
	}
	return 0, false
}

// Has reports whether every action of b is in a.
func (a Actions) Has(b Actions) bool { return a&b == b }

// Names lists the actions in a fixed order: read, create, update, delete.
func (a Actions) Names() []string {
	var out []string
	for _, n := range []string{ActionRead, ActionCreate, ActionUpdate, ActionDelete} {
		if b, _ := ParseAction(n); a.Has(b) {
			out = append(out, n)
		}
	}
	return out
}

// IsWrite reports whether the action changes a record (update or delete):
// such actions need a read_write path.
func (a Actions) IsWrite() bool { return a&(Update|Delete) != 0 }

// RoleID indexes a role in a compiled Policy.
type RoleID uint8

// RoleSet is a set of roles of one compiled Policy.
type RoleSet uint64

// Has reports whether r is in s.
func (s RoleSet) Has(r RoleID) bool { return s&(1<<r) != 0 }

// With returns s plus r.
func (s RoleSet) With(r RoleID) RoleSet { return s | 1<<r }

// FieldSet is a set of restricted fields of one type, by index in
// Type.Restricted.
type FieldSet uint64

// Has reports whether field i is in s.
func (s FieldSet) Has(i int) bool { return s&(1<<uint(i)) != 0 }

// Len is the number of fields in s.
func (s FieldSet) Len() int { return bits.OnesCount64(uint64(s)) }

// TypePerm is what a role, with everything it includes, allows on one type.
type TypePerm struct {
	Actions Actions
	// Own is true when the broadest scope among the role and what it
	// includes is "own": only records the user created.
	Own bool
	// Fields are the restricted fields the role may see and write.
	Fields FieldSet
	// Writable are the type's writable fields (by index in Type.Writable)
	// the role may set on create and update.
	Writable PathSet
}

// PathSet is a set of writable fields of one type, by index in
// Type.Writable.
type PathSet uint64

// Has reports whether path i is in s.
func (s PathSet) Has(i int) bool { return s&(1<<uint(i)) != 0 }

// CompiledRole is a role with its includes resolved.
type CompiledRole struct {
	ID          RoleID
	Name        string
	Title       string
	Titles      map[string]string
	Level       int
	Protected   bool
	Assignable  bool
	ManageUsers bool
	// perms is indexed by Type.Index.
	perms []TypePerm
}

// Perm returns what the role allows on t.
func (r *CompiledRole) Perm(t *Type) TypePerm { return r.perms[t.Index] }

// PathSegment is one step of a field path: an attribute name, and whether
// the path goes on into every element of the array found there.
type PathSegment struct {
	Name string
	Each bool
}

// FieldPath is a parsed restricted field path such as "lines[].price".
type FieldPath struct {
	Path     string
	Segments []PathSegment
}

// ParseFieldPath parses "a", "a.b" or "lines[].price". Each segment is a
// non-empty attribute name without dots or brackets; "[]" may follow any
// segment but the last.
func ParseFieldPath(p string) (FieldPath, error) {
	if p == "" {
		return FieldPath{}, fmt.Errorf("empty field path")
	}
	parts := strings.Split(p, ".")
	fp := FieldPath{Path: p}
	for i, part := range parts {
		seg := PathSegment{Name: part}
		if strings.HasSuffix(part, "[]") {
			if i == len(parts)-1 {
				return FieldPath{}, fmt.Errorf("field path %q ends in []: name a field of the elements", p)
			}
			seg = PathSegment{Name: strings.TrimSuffix(part, "[]"), Each: true}
		}
		if seg.Name == "" || strings.ContainsAny(seg.Name, "[]. ") {
			return FieldPath{}, fmt.Errorf("field path %q: bad segment %q", p, part)
		}
		fp.Segments = append(fp.Segments, seg)
	}
	return fp, nil
}

// Strip removes the value at the path from attrs, in place, everywhere the
// path matches. It fails closed (DESIGN.md §5, records.md §5): when the
// stored data along the path has another shape than the path expects (an
// object or a scalar where "lines[]" expects an array, an array inside
// that array, a scalar or an array where "a.b" expects an object), the
// whole top-level attribute is removed, since what it holds cannot be told
// apart from the hidden value. Null and absent values hold nothing and are
// left alone.
func (fp FieldPath) Strip(attrs map[string]any) {
	if !stripSegs(attrs, fp.Segments) {
		delete(attrs, fp.Segments[0].Name)
	}
}

// stripSegs strips segs from m and reports whether every value along the
// way had the shape the path expects.
func stripSegs(m map[string]any, segs []PathSegment) bool {
	seg := segs[0]
	if len(segs) == 1 {
		delete(m, seg.Name)
		return true
	}
	v, ok := m[seg.Name]
	if !ok || v == nil {
		return true
	}
	if !seg.Each {
		sub, ok := v.(map[string]any)
		return ok && stripSegs(sub, segs[1:])
	}
	arr, ok := v.([]any)
	if !ok {
		return false
	}
	fits := true
	for _, el := range arr {
		switch em := el.(type) {
		case nil:
		case map[string]any:
			fits = stripSegs(em, segs[1:]) && fits
		default:
			fits = false
		}
	}
	return fits
}

// Present reports whether attrs holds a value at the path (for arrays: in
// any element), or holds along the path a value of another shape than the
// path expects (see Strip), which may hide such a value. A write check
// built on Present therefore fails closed: "lines" written as an object
// cannot smuggle "lines[].price" past it.
func (fp FieldPath) Present(attrs map[string]any) bool { return presentSegs(attrs, fp.Segments) }

func presentSegs(m map[string]any, segs []PathSegment) bool {
	v, ok := m[segs[0].Name]
	if !ok {
		return false
	}
	if len(segs) == 1 {
		return true
	}
	if v == nil {
		return false
	}
	if !segs[0].Each {
		sub, ok := v.(map[string]any)
		return !ok || presentSegs(sub, segs[1:])
	}
	arr, ok := v.([]any)
	if !ok {
		return true
	}
	for _, el := range arr {
		switch em := el.(type) {
		case nil:
		case map[string]any:
			if presentSegs(em, segs[1:]) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// Share is a sharing rule seen from the child type.
type Share struct {
	From   *Type
	Access string
}

// Type is a compiled object type.
type Type struct {
	Index int
	Name  string
	Title string
	// TitlePlural, Titles and TitlesPlural are the ObjectType's: see
	// TitleIn and PluralIn.
	TitlePlural          string
	Titles, TitlesPlural map[string]string
	// MoneyFields, CurrencyField (never empty) and Currency are the
	// ObjectType's.
	MoneyFields             []string
	CurrencyField, Currency string
	OwnerField              string
	DateField               string
	ParentType              string
	// Comments, Files and ExternalFiles are the type's conversation and
	// files (ObjectType).
	Comments, Files, ExternalFiles bool
	// Fields are the queryable attributes by name; FieldList has them in
	// declaration order.
	Fields    map[string]Field
	FieldList []Field
	// Restricted are the restricted field paths; a FieldSet indexes them.
	Restricted []FieldPath
	// SharedFrom are the sharing rules whose target is this type.
	SharedFrom []Share
	// Writable are the paths external users may write (writable_fields);
	// a PathSet indexes them.
	Writable []FieldPath
	// Defaults fill an external create's unset attributes, as decoded
	// JSON values (float64 numbers). Callers must not modify them.
	Defaults map[string]any
	// NumberField and NumberPrefix number external creates (empty: not
	// numbered).
	NumberField, NumberPrefix string
}

// AllWritable is the set of every writable field of t.
func (t *Type) AllWritable() PathSet {
	if len(t.Writable) == 64 {
		return ^PathSet(0)
	}
	return PathSet(1)<<uint(len(t.Writable)) - 1
}

// WritableIndex returns the index of a writable field path, or -1.
func (t *Type) WritableIndex(path string) int {
	for i, f := range t.Writable {
		if f.Path == path {
			return i
		}
	}
	return -1
}

// RestrictedIndex returns the index of a restricted field path, or -1.
func (t *Type) RestrictedIndex(path string) int {
	for i, f := range t.Restricted {
		if f.Path == path {
			return i
		}
	}
	return -1
}

// AllFields is the set of every restricted field of t.
func (t *Type) AllFields() FieldSet {
	if len(t.Restricted) == 64 {
		return ^FieldSet(0)
	}
	return FieldSet(1)<<uint(len(t.Restricted)) - 1
}

// FieldNames lists the restricted fields of s, in declaration order.
func (t *Type) FieldNames(s FieldSet) []string {
	var out []string
	for i, f := range t.Restricted {
		if s.Has(i) {
			out = append(out, f.Path)
		}
	}
	return out
}

// Policy is a validated, compiled policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	doc       Document
	roles     []*CompiledRole
	roleIndex map[string]*CompiledRole
	types     []*Type
	typeIndex map[string]*Type
	// DefaultGroupRole is the role of account groups' grants.
	DefaultGroupRole *CompiledRole
}

// Document returns the source document. The caller must not modify it.
func (p *Policy) Document() *Document { return &p.doc }

// Role returns a role by name, or nil.
func (p *Policy) Role(name string) *CompiledRole { return p.roleIndex[name] }

// RoleByID returns the role with the given id.
func (p *Policy) RoleByID(id RoleID) *CompiledRole { return p.roles[id] }

// Roles lists the roles in document order.
func (p *Policy) Roles() []*CompiledRole { return p.roles }

// AllRoles is the set of every role.
func (p *Policy) AllRoles() RoleSet {
	if len(p.roles) == 64 {
		return ^RoleSet(0)
	}
	return RoleSet(1)<<uint(len(p.roles)) - 1
}

// Type returns an object type by name, or nil. Every decision asks it:
// a policy of a few types (the usual case) is scanned, without hashing
// the name.
func (p *Policy) Type(name string) *Type {
	if len(p.types) <= smallTypeList {
		for _, t := range p.types {
			if t.Name == name {
				return t
			}
		}
		return nil
	}
	return p.typeIndex[name]
}

// smallTypeList is the number of types up to which Type scans them.
const smallTypeList = 16

// Types lists the object types in document order.
func (p *Policy) Types() []*Type { return p.types }

// Compile validates d and builds the form the engine uses. The error, if
// any, lists every problem Validate finds.
func Compile(d *Document) (*Policy, error) {
	if err := Validate(d); err != nil {
		return nil, err
	}
	p := &Policy{doc: *d, roleIndex: map[string]*CompiledRole{}, typeIndex: map[string]*Type{}}
	for i, ot := range d.ObjectTypes {
		t := &Type{Index: i, Name: ot.Name, Title: ot.Title, TitlePlural: ot.TitlePlural, Titles: ot.Titles, TitlesPlural: ot.TitlesPlural, OwnerField: ot.OwnerField,
			DateField: ot.DateField, ParentType: ot.ParentType, Fields: map[string]Field{},
			Comments: ot.Comments, Files: ot.Files, ExternalFiles: ot.ExternalFiles}
		for _, f := range ot.Fields {
			t.Fields[f.Name] = f
		}
		t.FieldList = ot.Fields
		for _, rf := range ot.RestrictedFields {
			fp, _ := ParseFieldPath(rf) // validated
			t.Restricted = append(t.Restricted, fp)
		}
		for _, wf := range ot.WritableFields {
			fp, _ := ParseFieldPath(wf) // validated
			t.Writable = append(t.Writable, fp)
		}
		t.NumberField, t.NumberPrefix = ot.NumberField, ot.NumberPrefix
		t.MoneyFields, t.CurrencyField, t.Currency = ot.MoneyFields, ot.CurrencyField, ot.Currency
		if t.CurrencyField == "" {
			t.CurrencyField = "currency"
		}
		t.Defaults = jsonValues(ot.Defaults)
		p.types = append(p.types, t)
		p.typeIndex[t.Name] = t
	}
	for _, sr := range d.SharingRules {
		to := p.typeIndex[sr.To]
		to.SharedFrom = append(to.SharedFrom, Share{From: p.typeIndex[sr.From], Access: sr.Access})
	}
	byName := map[string]*Role{}
	for i := range d.Roles {
		byName[d.Roles[i].Name] = &d.Roles[i]
	}
	for i, r := range d.Roles {
		cr := &CompiledRole{ID: RoleID(i), Name: r.Name, Title: r.Title, Titles: r.Titles, Level: r.Level,
			Protected: r.Protected, Assignable: r.Assignable, perms: make([]TypePerm, len(p.types))}
		// Which types were ever granted with scope account: the broadest
		// scope wins across includes.
		accountScope := make([]bool, len(p.types))
		seen := map[string]bool{}
		var visit func(r *Role)
		visit = func(r *Role) {
			if seen[r.Name] {
				return
			}
			seen[r.Name] = true
			cr.ManageUsers = cr.ManageUsers || r.ManageUsers
			for tn, perm := range r.Permissions {
				t := p.typeIndex[tn]
				tp := &cr.perms[t.Index]
				for _, a := range perm.Actions {
					b, _ := ParseAction(a)
					tp.Actions |= b
				}
				// An entry that names scope account, or grants actions
				// without naming a scope, widens the type to every record.
				if perm.Scope == ScopeAccount || (perm.Scope == "" && len(perm.Actions) > 0) {
					accountScope[t.Index] = true
				}
				for _, f := range perm.Fields {
					tp.Fields |= 1 << uint(t.RestrictedIndex(f))
				}
				// An entry that may create or update writes the type's
				// writable fields, or those it names.
				if perm.mayWrite() {
					if len(perm.Writable) == 0 {
						tp.Writable |= t.AllWritable()
					}
					for _, f := range perm.Writable {
						tp.Writable |= 1 << uint(t.WritableIndex(f))
					}
				}
			}
			for _, inc := range r.Includes {
				visit(byName[inc])
			}
		}
		visit(&d.Roles[i])
		for ti := range cr.perms {
			cr.perms[ti].Own = cr.perms[ti].Actions != 0 && !accountScope[ti]
		}
		p.roles = append(p.roles, cr)
		p.roleIndex[cr.Name] = cr
	}
	p.DefaultGroupRole = p.roleIndex[d.DefaultGroupRole]
	return p, nil
}

// mayWrite reports whether the entry grants create or update.
func (p Permission) mayWrite() bool {
	return slices.Contains(p.Actions, ActionCreate) || slices.Contains(p.Actions, ActionUpdate)
}

// jsonValues returns m as encoding/json decodes it (numbers as float64,
// nested maps as map[string]any), whatever decoder built it (YAML gives
// ints). A nil or empty m gives nil.
func jsonValues(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil // validated values always encode
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
