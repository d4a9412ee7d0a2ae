package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Problem is one thing wrong with a policy document.
type Problem struct {
	// Path locates the problem in the document, e.g. "roles[2].includes[0]"
	// or "object_types[sales_order].restricted_fields[3]". Roles and sharing
	// rules are located by index, object types by name (by index when the
	// name is missing, invalid or a duplicate), permissions by type name.
	Path    string
	Message string
}

// String returns "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError lists every problem Validate found in a document, in
// document order.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problems one per line after "invalid policy:"; a single
// problem stays on one line.
func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid policy: " + e.Problems[0].String()
	}
	var b strings.Builder
	b.WriteString("invalid policy:")
	for _, p := range e.Problems {
		b.WriteString("\n" + p.String())
	}
	return b.String()
}

var (
	roleNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*$`)
	// numberPrefixRE keeps a prefix and its number a valid record id.
	numberPrefixRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{0,40}$`)
	typeNameRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Validate checks the meaning of a document and returns nil or a
// *ValidationError listing every problem found, not just the first, so an
// administrator can fix a policy in one pass. A document that passes
// Validate compiles.
func Validate(d *Document) error {
	if d == nil {
		return &ValidationError{[]Problem{{Message: "no document"}}}
	}
	v := &validator{d: d}
	v.checkObjectTypes()
	v.checkRoles()
	v.checkSharingRules()
	v.checkDefaultGroupRole()
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{v.problems}
}

// validator collects problems. types and roles index the first declaration
// of each name, so later checks can resolve references even when names are
// duplicated.
type validator struct {
	d        *Document
	problems []Problem
	types    map[string]*ObjectType
	typePath []string // by index in d.ObjectTypes
	roles    map[string]int
}

func (v *validator) addf(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// checkAttr reports a problem unless name is a single attribute name (no
// dots, brackets or spaces), and whether it is one.
func (v *validator) checkAttr(path, name string) bool {
	fp, err := ParseFieldPath(name)
	if err != nil || len(fp.Segments) != 1 || fp.Segments[0].Each {
		v.addf(path, "%q is not an attribute name (no dots, brackets or spaces)", name)
		return false
	}
	return true
}

func (v *validator) checkObjectTypes() {
	d := v.d
	if len(d.ObjectTypes) == 0 {
		v.addf("object_types", "at least one object type is required")
	}
	v.types = map[string]*ObjectType{}
	for i := range d.ObjectTypes {
		ot := &d.ObjectTypes[i]
		path := fmt.Sprintf("object_types[%d]", i)
		switch {
		case ot.Name == "":
			v.addf(path+".name", "name is required")
		case !typeNameRE.MatchString(ot.Name):
			v.addf(path+".name", "type name %q must match %s", ot.Name, typeNameRE)
		case v.types[ot.Name] != nil:
			v.addf(path+".name", "duplicate object type %q", ot.Name)
		default:
			v.types[ot.Name] = ot
			path = "object_types[" + ot.Name + "]"
		}
		v.typePath = append(v.typePath, path)
	}
	for i := range d.ObjectTypes {
		v.checkObjectType(v.typePath[i], &d.ObjectTypes[i])
	}
}

func (v *validator) checkObjectType(path string, ot *ObjectType) {
	v.checkTitles(path+".titles", ot.Titles)
	v.checkTitles(path+".titles_plural", ot.TitlesPlural)
	for k, mf := range ot.MoneyFields {
		if _, err := ParseFieldPath(mf); err != nil {
			v.addf(fmt.Sprintf("%s.money_fields[%d]", path, k), "%v", err)
		}
	}
	if ot.CurrencyField != "" {
		v.checkAttr(path+".currency_field", ot.CurrencyField)
	}
	if ot.Currency != "" && !currencyRE.MatchString(ot.Currency) {
		v.addf(path+".currency", "currency %q is not an ISO 4217 code such as EUR", ot.Currency)
	}
	fields := map[string]Field{}
	for j, f := range ot.Fields {
		fpath := fmt.Sprintf("%s.fields[%d]", path, j)
		for k, val := range f.Values {
			v.checkTitles(fmt.Sprintf("%s.values[%d].labels", fpath, k), f.Labels[val])
		}
		if f.Name == "" {
			v.addf(fpath+".name", "name is required")
		} else {
			v.checkAttr(fpath+".name", f.Name)
			if _, dup := fields[f.Name]; dup {
				v.addf(fpath+".name", "duplicate field %q", f.Name)
			} else {
				fields[f.Name] = f
			}
		}
		switch f.Type {
		case FieldString, FieldNumber, FieldDate, FieldBool:
		default:
			v.addf(fpath+".type", "unknown field type %q (want string, number, date or bool)", f.Type)
		}
		if len(f.Values) > 0 && f.Type != FieldString {
			v.addf(fpath+".values", "values are allowed only on string fields")
		}
		for k, val := range f.Values {
			switch {
			case val == "":
				v.addf(fmt.Sprintf("%s.values[%d]", fpath, k), "empty value")
			case slices.Contains(f.Values[:k], val):
				v.addf(fmt.Sprintf("%s.values[%d]", fpath, k), "duplicate value %q", val)
			}
		}
	}
	if ot.OwnerField != "" {
		v.checkAttr(path+".owner_field", ot.OwnerField)
		if f, ok := fields[ot.OwnerField]; ok && f.Type != FieldString {
			v.addf(path+".owner_field", "field %q is declared as %s, not string", f.Name, f.Type)
		}
	}
	if ot.DateField != "" {
		v.checkAttr(path+".date_field", ot.DateField)
		if f, ok := fields[ot.DateField]; ok && f.Type != FieldDate {
			v.addf(path+".date_field", "field %q is declared as %s, not date", f.Name, f.Type)
		}
	}
	if len(ot.RestrictedFields) > MaxRestrictedFields {
		v.addf(path+".restricted_fields", "%d restricted fields, at most %d allowed", len(ot.RestrictedFields), MaxRestrictedFields)
	}
	for j, rf := range ot.RestrictedFields {
		rpath := fmt.Sprintf("%s.restricted_fields[%d]", path, j)
		if _, err := ParseFieldPath(rf); err != nil {
			v.addf(rpath, "%v", err)
		}
		if slices.Contains(ot.RestrictedFields[:j], rf) {
			v.addf(rpath, "duplicate restricted field %q", rf)
		}
	}
	if ot.ExternalFiles && !ot.Files {
		v.addf(path+".external_files", "external_files needs files: true")
	}
	v.checkWrites(path, ot, fields)
	if ot.ParentType != "" {
		switch {
		case ot.ParentType == ot.Name:
			v.addf(path+".parent_type", "a type cannot be its own parent type")
		case v.types[ot.ParentType] == nil:
			v.addf(path+".parent_type", "unknown object type %q", ot.ParentType)
		}
	}
}

func (v *validator) checkRoles() {
	d := v.d
	if len(d.Roles) == 0 {
		v.addf("roles", "at least one role is required")
	}
	if len(d.Roles) > MaxRoles {
		v.addf("roles", "%d roles, at most %d allowed", len(d.Roles), MaxRoles)
	}
	v.roles = map[string]int{}
	for i, r := range d.Roles {
		path := fmt.Sprintf("roles[%d].name", i)
		switch first, dup := v.roles[r.Name]; {
		case r.Name == "":
			v.addf(path, "name is required")
		case !roleNameRE.MatchString(r.Name):
			v.addf(path, "role name %q must match %s", r.Name, roleNameRE)
		case dup:
			v.addf(path, "duplicate role %q (first at roles[%d])", r.Name, first)
		default:
			v.roles[r.Name] = i
		}
	}
	for i := range d.Roles {
		v.checkRole(i, &d.Roles[i])
	}
	v.checkIncludeCycles()
}

func (v *validator) checkRole(i int, r *Role) {
	path := fmt.Sprintf("roles[%d]", i)
	v.checkTitles(path+".titles", r.Titles)
	if r.Level < 0 {
		v.addf(path+".level", "level %d is negative", r.Level)
	}
	if r.Protected && r.Assignable {
		v.addf(path+".assignable", "a protected role cannot be assignable: only staff or a holder of the role may give it")
	}
	for k, inc := range r.Includes {
		ipath := fmt.Sprintf("%s.includes[%d]", path, k)
		j, known := v.roles[inc]
		switch {
		case inc == r.Name:
			v.addf(ipath, "role %q includes itself", inc)
		case !known:
			v.addf(ipath, "unknown role %q", inc)
		case slices.Contains(r.Includes[:k], inc):
			v.addf(ipath, "duplicate include %q", inc)
		case r.Level <= v.d.Roles[j].Level:
			v.addf(path+".level", "level %d must exceed level %d of included role %q",
				r.Level, v.d.Roles[j].Level, inc)
		}
	}
	for _, tn := range slices.Sorted(maps.Keys(r.Permissions)) {
		v.checkPermission(fmt.Sprintf("%s.permissions[%s]", path, tn), tn, r.Permissions[tn])
	}
}

func (v *validator) checkPermission(path, typeName string, p Permission) {
	ot := v.types[typeName]
	if ot == nil {
		v.addf(path, "unknown object type %q", typeName)
	}
	for k, a := range p.Actions {
		apath := fmt.Sprintf("%s.actions[%d]", path, k)
		if _, ok := ParseAction(a); !ok {
			v.addf(apath, "unknown action %q (want read, create, update or delete)", a)
		} else if slices.Contains(p.Actions[:k], a) {
			v.addf(apath, "duplicate action %q", a)
		}
	}
	switch p.Scope {
	case "", ScopeAccount, ScopeOwn:
	default:
		v.addf(path+".scope", "unknown scope %q (want account or own)", p.Scope)
	}
	v.checkSubset(path+".writable", p.Writable, ot, func(ot *ObjectType) []string { return ot.WritableFields }, "one of the writable_fields", "writable field")
	v.checkSubset(path+".fields", p.Fields, ot, func(ot *ObjectType) []string { return ot.RestrictedFields }, "a restricted field", "field")
}

// checkSubset reports each of names that is not among the paths of ot
// (unknown when ot is nil) that of returns, and each duplicate.
func (v *validator) checkSubset(path string, names []string, ot *ObjectType, of func(*ObjectType) []string, what, kind string) {
	for k, f := range names {
		fpath := fmt.Sprintf("%s[%d]", path, k)
		if ot != nil && !slices.Contains(of(ot), f) {
			v.addf(fpath, "%q is not %s of %s", f, what, ot.Name)
		} else if slices.Contains(names[:k], f) {
			v.addf(fpath, "duplicate %s %q", kind, f)
		}
	}
}

// checkIncludeCycles reports each cycle of includes once, naming its roles in
// order. Self-includes are reported by role, not here.
func (v *validator) checkIncludeCycles() {
	const (
		unvisited = iota
		onStack
		done
	)
	roles := v.d.Roles
	state := make([]int, len(roles))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for k, inc := range roles[i].Includes {
			j, ok := v.roles[inc]
			if !ok || j == i {
				continue
			}
			switch state[j] {
			case unvisited:
				visit(j)
			case onStack:
				start := slices.Index(stack, j)
				var names []string
				for _, n := range stack[start:] {
					names = append(names, roles[n].Name)
				}
				names = append(names, inc)
				v.addf(fmt.Sprintf("roles[%d].includes[%d]", i, k),
					"includes form a cycle: %s", strings.Join(names, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range roles {
		// Only the first declaration of a name takes part in includes.
		if first, ok := v.roles[roles[i].Name]; ok && first == i && state[i] == unvisited {
			visit(i)
		}
	}
}

func (v *validator) checkSharingRules() {
	type pair struct{ from, to string }
	seen := map[pair]int{}
	for i, sr := range v.d.SharingRules {
		path := fmt.Sprintf("sharing_rules[%d]", i)
		from, to := v.types[sr.From], v.types[sr.To]
		if from == nil {
			v.addf(path+".from", "unknown object type %q", sr.From)
		}
		if to == nil {
			v.addf(path+".to", "unknown object type %q", sr.To)
		}
		switch {
		case sr.From == sr.To:
			v.addf(path+".to", "a type cannot share with itself")
		case to != nil && to.ParentType != "" && to.ParentType != sr.From:
			v.addf(path+".from", "%s records have parents of type %s, not %s", sr.To, to.ParentType, sr.From)
		}
		switch sr.Access {
		case AccessRead, AccessReadWrite:
		default:
			v.addf(path+".access", "unknown access %q (want read or read_write)", sr.Access)
		}
		if first, dup := seen[pair{sr.From, sr.To}]; dup {
			v.addf(path, "duplicate rule from %s to %s (first at sharing_rules[%d])", sr.From, sr.To, first)
		} else {
			seen[pair{sr.From, sr.To}] = i
		}
	}
}

func (v *validator) checkDefaultGroupRole() {
	name := v.d.DefaultGroupRole
	i, ok := v.roles[name]
	switch {
	case name == "":
		v.addf("default_group_role", "default_group_role is required")
	case !ok:
		v.addf("default_group_role", "unknown role %q", name)
	case v.d.Roles[i].Protected:
		v.addf("default_group_role", "role %q is protected: groups cannot hold a protected role", name)
	}
}

// checkWrites checks what a type lets external users write
// (writable_fields), what their creates start with (defaults) and how they
// are numbered (number_field, number_prefix). The attributes the server
// sets on an external create (date_field, number_field) can be neither
// writable nor defaulted; the owner_field can be writable (a ticket's
// site is chosen by its creator) but has no default.
func (v *validator) checkWrites(path string, ot *ObjectType, fields map[string]Field) {
	if len(ot.WritableFields) > MaxWritableFields {
		v.addf(path+".writable_fields", "%d writable fields, at most %d allowed", len(ot.WritableFields), MaxWritableFields)
	}
	server := map[string]string{ot.DateField: "date_field", ot.NumberField: "number_field"}
	delete(server, "")
	for j, wf := range ot.WritableFields {
		wpath := fmt.Sprintf("%s.writable_fields[%d]", path, j)
		fp, err := ParseFieldPath(wf)
		switch {
		case err != nil:
			v.addf(wpath, "%v", err)
		case slices.Contains(ot.WritableFields[:j], wf):
			v.addf(wpath, "duplicate writable field %q", wf)
		case server[fp.Segments[0].Name] != "":
			v.addf(wpath, "%q is the type's %s, which the server sets on external creates", fp.Segments[0].Name, server[fp.Segments[0].Name])
		}
	}
	if ot.NumberField != "" {
		v.checkAttr(path+".number_field", ot.NumberField)
		if f, ok := fields[ot.NumberField]; ok && f.Type != FieldString {
			v.addf(path+".number_field", "field %q is declared as %s, not string", f.Name, f.Type)
		}
		if ot.NumberField == ot.DateField || ot.NumberField == ot.OwnerField {
			v.addf(path+".number_field", "%q is already the type's owner_field or date_field", ot.NumberField)
		}
	}
	switch {
	case ot.NumberPrefix != "" && ot.NumberField == "":
		v.addf(path+".number_prefix", "number_prefix needs a number_field")
	case !numberPrefixRE.MatchString(ot.NumberPrefix):
		v.addf(path+".number_prefix", "number_prefix %q must be at most 40 characters of A-Za-z0-9._:-", ot.NumberPrefix)
	}
	server[ot.OwnerField] = "owner_field"
	delete(server, "")
	for _, name := range slices.Sorted(maps.Keys(ot.Defaults)) {
		dpath := fmt.Sprintf("%s.defaults[%s]", path, name)
		if !v.checkAttr(dpath, name) {
			continue
		}
		if server[name] != "" {
			v.addf(dpath, "%q is the type's %s: the server sets it on external creates", name, server[name])
			continue
		}
		if _, err := json.Marshal(ot.Defaults[name]); err != nil {
			v.addf(dpath, "the default of %s is not a JSON value (objects need string keys)", name)
			continue
		}
		if f, ok := fields[name]; ok {
			if msg := checkDefault(f, ot.Defaults[name]); msg != "" {
				v.addf(dpath, "%s", msg)
			}
		}
	}
}

// checkDefault checks a default value against the declared field it
// fills: its type and, for a field with values, one of them.
func checkDefault(f Field, val any) string {
	switch f.Type {
	case FieldNumber:
		switch val.(type) {
		case int, int64, uint64, float64:
			return ""
		}
		return fmt.Sprintf("the default of %s must be a number", f.Name)
	case FieldBool:
		if _, ok := val.(bool); !ok {
			return fmt.Sprintf("the default of %s must be true or false", f.Name)
		}
		return ""
	}
	s, ok := val.(string)
	if !ok {
		return fmt.Sprintf("the default of %s must be a string", f.Name)
	}
	if f.Type == FieldDate && !dateRE.MatchString(s) {
		return fmt.Sprintf("the default of %s must be a date (YYYY-MM-DD)", f.Name)
	}
	if len(f.Values) > 0 && !slices.Contains(f.Values, s) {
		return fmt.Sprintf("the default %q of %s is not one of its values: %s", s, f.Name, strings.Join(f.Values, ", "))
	}
	return ""
}

var dateRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
