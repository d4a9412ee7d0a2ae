// Package policy holds Portcullis' policy document: the roles external users
// are granted, the object types records belong to, and the sharing rules that
// let a child record follow its parent. A document is parsed from YAML or JSON
// (Parse), checked as a whole (Validate reports every problem with its
// location), and compiled (Compile) into the form the access engine consults
// on every decision.
//
// The built-in default policy (Default) is the ERP ladder L10–L90 of DESIGN.md;
// its source, default.yaml, doubles as documentation of the format.
package policy

// The actions a role may grant on an object type.
const (
	ActionRead   = "read"
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Permission scopes. ScopeAccount (the default) covers every record a grant
// reaches; ScopeOwn only the records whose creator is the user.
const (
	ScopeAccount = "account"
	ScopeOwn     = "own"
)

// Sharing rule and grant access levels.
const (
	AccessRead      = "read"
	AccessReadWrite = "read_write"
)

// Queryable field types.
const (
	FieldString = "string"
	FieldNumber = "number"
	FieldDate   = "date"
	FieldBool   = "bool"
)

// Document is the policy as written by an administrator. Its zero value is
// not valid; use Parse, then Compile.
type Document struct {
	// Roles are the roles grants may name.
	Roles []Role `json:"roles" yaml:"roles"`
	// ObjectTypes are the record types Portcullis stores.
	ObjectTypes []ObjectType `json:"object_types" yaml:"object_types"`
	// SharingRules let a record whose parent a user can read be read too.
	SharingRules []SharingRule `json:"sharing_rules,omitempty" yaml:"sharing_rules,omitempty"`
	// DefaultGroupRole is the role of the grant created for an account's
	// group when its external access is switched on. It may not be protected.
	DefaultGroupRole string `json:"default_group_role" yaml:"default_group_role"`
}

// Role is one rung of the ladder: what a grant with this role allows.
type Role struct {
	Name  string `json:"name" yaml:"name"`
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	// Titles are the title in other locales (de, zh; en overrides Title).
	Titles map[string]string `json:"titles,omitempty" yaml:"titles,omitempty"`
	// Level orders roles for delegation: a customer admin hands out roles up
	// to its own level. It must exceed the level of every included role.
	Level int `json:"level" yaml:"level"`
	// Includes names roles whose permissions this one adds to. Actions and
	// fields are unioned per type, the broadest scope wins, manage_users is
	// inherited; protected and assignable are not.
	Includes []string `json:"includes,omitempty" yaml:"includes,omitempty"`
	// Protected roles (the Owner) are granted whole and never revoked,
	// lowered or narrowed.
	Protected bool `json:"protected,omitempty" yaml:"protected,omitempty"`
	// Assignable roles may be handed out by customer admins.
	Assignable bool `json:"assignable,omitempty" yaml:"assignable,omitempty"`
	// ManageUsers lets the holder administer users and grants of the
	// accounts its grant covers.
	ManageUsers bool `json:"manage_users,omitempty" yaml:"manage_users,omitempty"`
	// Permissions by object type name.
	Permissions map[string]Permission `json:"permissions,omitempty" yaml:"permissions,omitempty"`
}

// Permission is what a role allows on one object type.
type Permission struct {
	// Actions are any of read, create, update, delete.
	Actions []string `json:"actions,omitempty" yaml:"actions,omitempty"`
	// Scope is "account" (default) or "own".
	Scope string `json:"scope,omitempty" yaml:"scope,omitempty"`
	// Fields are restricted fields of the type this role may see and write.
	Fields []string `json:"fields,omitempty" yaml:"fields,omitempty"`
	// Writable narrows, for this role's create and update, the type's
	// writable_fields to these paths (each one of them). Absent or empty:
	// all of the type's writable_fields. Through includes the paths are
	// unioned per type, like fields.
	Writable []string `json:"writable,omitempty" yaml:"writable,omitempty"`
}

// ObjectType describes a kind of record.
type ObjectType struct {
	Name  string `json:"name" yaml:"name"`
	Title string `json:"title,omitempty" yaml:"title,omitempty"`
	// TitlePlural names a list of the type's records ("Sales orders"): the
	// portal's navigation and list headings.
	TitlePlural string `json:"title_plural,omitempty" yaml:"title_plural,omitempty"`
	// Titles and TitlesPlural are Title and TitlePlural in other locales,
	// by locale (de, zh; en overrides the default).
	Titles       map[string]string `json:"titles,omitempty" yaml:"titles,omitempty"`
	TitlesPlural map[string]string `json:"titles_plural,omitempty" yaml:"titles_plural,omitempty"`
	// OwnerField names the attribute that fills a record's owner when none is
	// given and it names an existing account.
	OwnerField string `json:"owner_field,omitempty" yaml:"owner_field,omitempty"`
	// DateField names the attribute that fills a record's date when none is
	// given.
	DateField string `json:"date_field,omitempty" yaml:"date_field,omitempty"`
	// Fields are the attributes that may be filtered and sorted on.
	Fields []Field `json:"fields,omitempty" yaml:"fields,omitempty"`
	// RestrictedFields are attribute paths hidden unless a role grants them:
	// "a", "a.b" for nested objects, "lines[].price" for every element of an
	// array.
	RestrictedFields []string `json:"restricted_fields,omitempty" yaml:"restricted_fields,omitempty"`
	// ParentType is the type a record's parent must have, if any.
	ParentType string `json:"parent_type,omitempty" yaml:"parent_type,omitempty"`
	// Comments turns on the conversation of this type's records
	// (records.md §2): whoever reads a record reads its comments (internal
	// ones only staff), whoever may update it may post.
	Comments bool `json:"comments,omitempty" yaml:"comments,omitempty"`
	// Files turns on files attached to this type's records: read with the
	// record, put and deleted by staff.
	Files bool `json:"files,omitempty" yaml:"files,omitempty"`
	// ExternalFiles lets external users who may update a record put and
	// delete its files too; it needs Files.
	ExternalFiles bool `json:"external_files,omitempty" yaml:"external_files,omitempty"`
	// WritableFields are the attribute paths (the syntax of
	// restricted_fields) an external user may set on create and update;
	// every other attribute is read-only for external users (records.md
	// §1). Staff and tokens write everything.
	WritableFields []string `json:"writable_fields,omitempty" yaml:"writable_fields,omitempty"`
	// Defaults are attribute values an external create starts with where
	// it sets no value (e.g. status: requested for a portal order).
	Defaults map[string]any `json:"defaults,omitempty" yaml:"defaults,omitempty"`
	// NumberField, when set, numbers external creates from a per-type
	// sequence: the record's id is NumberPrefix and the next number
	// (TK-10001, TK-10002, ...), also written to this attribute.
	NumberField  string `json:"number_field,omitempty" yaml:"number_field,omitempty"`
	NumberPrefix string `json:"number_prefix,omitempty" yaml:"number_prefix,omitempty"`
	// MoneyFields are attribute paths (the syntax of restricted_fields)
	// holding amounts of money, shown with the record's currency: the
	// ISO 4217 code in its CurrencyField attribute (default "currency"),
	// else Currency; with neither they are plain numbers.
	MoneyFields   []string `json:"money_fields,omitempty" yaml:"money_fields,omitempty"`
	CurrencyField string   `json:"currency_field,omitempty" yaml:"currency_field,omitempty"`
	Currency      string   `json:"currency,omitempty" yaml:"currency,omitempty"`
}

// Field is a queryable attribute.
type Field struct {
	Name string `json:"name" yaml:"name"`
	// Type is string, number, date or bool.
	Type string `json:"type" yaml:"type"`
	// Values, when set, are the allowed values that forms offer as choices.
	// In the document each is a string or {value, labels}.
	Values []string `json:"-" yaml:"-"`
	// Labels are the values' labels by value, then by locale
	// ("in_progress" → "de" → "In Bearbeitung").
	Labels map[string]map[string]string `json:"-" yaml:"-"`
}

// SharingRule makes a record of type To readable when its parent, of type
// From, is readable; Access caps what the path allows (read or read_write).
type SharingRule struct {
	From   string `json:"from" yaml:"from"`
	To     string `json:"to" yaml:"to"`
	Access string `json:"access" yaml:"access"`
}
