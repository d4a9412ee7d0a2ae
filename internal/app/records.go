package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Records. The same use cases serve staff (every record, every field) and
// external users (visible records only, hidden fields stripped). A record
// an external user cannot read is CodeNotFound whatever the action; one it
// can read but not change is CodeForbidden (DESIGN.md §2). Staff and
// integration tokens may read as another user (AsUser): the answer is
// exactly what that user would get.

// recordType resolves an object type name (CodeNotFound when unknown).
func (a *App) recordType(name string) (*policy.Type, error) {
	t := a.eng.Policy().Type(name)
	if t == nil {
		return nil, access.Errorf(access.CodeNotFound, "unknown object type %s", name)
	}
	return t, nil
}

// subject is whose view a read takes: the actor, or for staff and
// integration tokens the user named by asUser. A read as another user is
// audited ("as_user.read", target "user:<id>") at most every
// ViewAsReaudit per token or staff user and user (viewas.go).
func (a *App) subject(ctx context.Context, c *Actor, asUser string) (access.User, error) {
	u, err := a.lookupSubject(c, asUser)
	if err != nil || asUser == "" {
		return u, err
	}
	if err := a.auditViewAs(ctx, c, u, "as_user.read"); err != nil {
		return access.User{}, err
	}
	return u, nil
}

// lookupSubject is subject without the audit, for reads that a surface
// makes after Portal audited them (a portal form under view as).
func (a *App) lookupSubject(c *Actor, asUser string) (access.User, error) {
	if asUser == "" {
		return c.User, nil
	}
	if !c.Internal() {
		return access.User{}, access.Errorf(access.CodeForbidden, "as_user is for staff and integrations")
	}
	u, ok := a.eng.User(asUser)
	if !ok {
		return access.User{}, access.FieldErrorf(access.CodeInvalid, "as_user", "as_user %s does not exist", asUser)
	}
	return u, nil
}

// source loads the parents (up to the sharing hop limit) of recs, so the
// engine can follow sharing rules: their heads only, since a decision never
// reads attributes (shared with the store's head cache: read only).
func (a *App) source(ctx context.Context, recs ...*access.Record) (access.RecordMap, error) {
	var parents []access.Ref
	for _, r := range recs {
		if r.Parent != nil {
			parents = append(parents, *r.Parent)
		}
	}
	src := access.RecordMap{}
	if len(parents) > 0 {
		var err error
		if src, err = a.st.DecisionHeads(ctx, parents, access.MaxSharingHops-1); err != nil {
			return nil, err
		}
	}
	for _, r := range recs {
		src[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	return src, nil
}

// RecordList is one page of a record list (DESIGN.md §5.9). Filter values
// are the caller's text, parsed here by the field's declared type.
type RecordList struct {
	Type   string
	AsUser string
	// Account, when set, restricts to records owned in the account's
	// subtree.
	Account          *string
	DateFrom, DateTo string // YYYY-MM-DD, inclusive
	UpdatedSince     string // RFC 3339, staff only
	// Attrs filters on declared fields: attr.<name> → accepted values (OR).
	Attrs map[string][]string
	// Ranges filters declared date and number fields to inclusive bounds:
	// attr.<name>.from and attr.<name>.to, as text ("" for an open bound).
	Ranges map[string]TextRange
	// Search (q) keeps the records whose id or one of the type's declared
	// string fields the subject may filter on contains the text
	// (case-insensitively for Latin letters), but the owner_field, a
	// question about the owner (records.md §5).
	Search string
	// Sort is date, -date (default), id, -id, attr.<name>, -attr.<name>,
	// and for staff updated_at.
	Sort string
	// Within (within=) restricts the list to this account's subtree as far
	// as the subject reaches it, records shared with it included: the
	// portal's lists of one account and their downloads.
	Within string
	// Raw lets the items carry their attributes undecoded (access.Record
	// Raw) where the viewer sees all of them: for callers that only encode
	// them as JSON.
	Raw bool
	// Parent, "<type>:<id>", restricts to the children of that record (a
	// related list, records.md §3): for an external subject only when it
	// can read the parent, else the list is empty.
	Parent string
	ListParams
}

// ParseListParams reads limit and cursor from a query: limit must be a
// positive integer (CodeInvalid); above the maximum it is cut.
func ParseListParams(q url.Values) (ListParams, error) {
	p := ListParams{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, access.FieldErrorf(access.CodeInvalid, "limit", "limit must be a positive integer")
		}
		p.Limit = min(n, store.MaxListLimit)
	}
	return p, nil
}

// RecordListFromQuery reads a record list's parameters from a query
// string, as the API and the portal take them; an unknown parameter is
// CodeInvalid. min_revision is left to the caller.
func RecordListFromQuery(typ string, q url.Values) (RecordList, error) {
	l := RecordList{Type: typ, AsUser: q.Get("as_user")}
	var err error
	if l.ListParams, err = ParseListParams(q); err != nil {
		return l, err
	}
	for key, vals := range q {
		switch {
		case key == "limit" || key == "cursor" || key == "as_user" || key == "min_revision":
		case key == "account":
			v := vals[0]
			l.Account = &v
		case key == "date_from":
			l.DateFrom = vals[0]
		case key == "date_to":
			l.DateTo = vals[0]
		case key == "updated_since":
			l.UpdatedSince = vals[0]
		case key == "sort":
			l.Sort = vals[0]
		case key == "parent":
			l.Parent = vals[0]
		case key == "within":
			l.Within = vals[0]
		case key == "q":
			l.Search = vals[0]
		case strings.HasPrefix(key, "attr.") && strings.Count(key, ".") >= 2 && (strings.HasSuffix(key, ".from") || strings.HasSuffix(key, ".to")):
			name, bound, _ := strings.Cut(strings.TrimPrefix(key, "attr."), ".")
			if l.Ranges == nil {
				l.Ranges = map[string]TextRange{}
			}
			rg := l.Ranges[name]
			if bound == "from" {
				rg.From = vals[0]
			} else {
				rg.To = vals[0]
			}
			l.Ranges[name] = rg
		case strings.HasPrefix(key, "attr."):
			if l.Attrs == nil {
				l.Attrs = map[string][]string{}
			}
			l.Attrs[strings.TrimPrefix(key, "attr.")] = vals
		default:
			return l, access.FieldErrorf(access.CodeInvalid, key, "unknown parameter %s", key)
		}
	}
	return l, nil
}

// TextRange is a range filter's bounds as given ("" for an open bound).
type TextRange struct{ From, To string }

// MaxSearch bounds the length of a list's search text (q).
const MaxSearch = 100

// RecordPage is a page of records as the subject sees them.
type RecordPage struct {
	Subject access.User
	// Staff is set when the subject is staff: records are whole, with teams.
	Staff bool
	// Sort is the order the page is in.
	Sort  string
	Items []*access.Record
	Next  string
}

// ListRecords lists the records of one type the subject may read, fields
// masked, enforced in the store's query. A filter or sort on a hidden,
// undeclared or unknown field is the same CodeInvalidField error, decided
// before any query runs; a type the subject cannot read lists empty. A
// filter on the account or on the type's owner_field, or a sort on the
// owner_field, matches only records an owner path lets the subject read
// (access.Predicate.OwnerPaths): never one seen through teams or sharing.
// A parent filter (in.Parent) lists the visible children of a record the
// subject can read; for a parent it cannot read (or that does not exist)
// the list is empty, so that the filter never tells which parent a child
// seen through teams has (its view hides the parent).
func (a *App) ListRecords(ctx context.Context, c *Actor, in RecordList) (RecordPage, error) {
	t, err := a.recordType(in.Type)
	if err != nil {
		return RecordPage{}, err
	}
	subj, err := a.subject(ctx, c, in.AsUser)
	if err != nil {
		return RecordPage{}, err
	}
	q, err := a.recordQuery(t, subj, in)
	if err != nil {
		return RecordPage{}, err
	}
	staff := subj.Kind == access.KindInternal
	if q.Parent != nil && !staff {
		if _, _, _, err := a.readable(ctx, subj, q.Parent.Type, q.Parent.ID); access.ErrorCode(err) == access.CodeNotFound {
			return RecordPage{Subject: subj, Sort: q.Sort, Items: []*access.Record{}}, nil
		} else if err != nil {
			return RecordPage{}, err
		}
	}
	start := time.Now()
	recs, next, err := a.st.ListRecords(ctx, q)
	a.obs.ListQuery(time.Since(start))
	if err != nil {
		return RecordPage{}, err
	}
	page := RecordPage{Subject: subj, Staff: staff, Sort: q.Sort, Next: next, Items: recs}
	if page.Staff {
		return page, nil
	}
	src, err := a.source(ctx, recs...)
	if err != nil {
		return RecordPage{}, err
	}
	page.Items = make([]*access.Record, 0, len(recs))
	for i, v := range a.eng.ViewPage(subj.ID, recs, src) {
		if v == nil {
			rec := recs[i]
			// A change between building the predicate and masking the
			// page (a revoke) can drop a row: the engine has the last word.
			a.log.Info("list row dropped by a concurrent access change", "user", subj.ID, "type", rec.Type, "id", rec.ID)
			continue
		}
		page.Items = append(page.Items, v)
	}
	return page, nil
}

// recordQuery validates a list's parameters into a store query.
func (a *App) recordQuery(t *policy.Type, subj access.User, in RecordList) (store.RecordQuery, error) {
	staff := subj.Kind == access.KindInternal
	q := store.RecordQuery{Type: t.Name, Limit: in.limit(), Cursor: in.Cursor, Sort: "-date", Raw: in.Raw}
	var err error
	q.Predicate, err = a.eng.Predicate(subj.ID, t.Name, policy.Read)
	if err != nil {
		return q, err
	}
	if in.Within != "" {
		q.Predicate = q.Predicate.Within(a.scope(subj.ID, in.Within))
	}
	filterable := a.eng.FilterableFields(subj.ID, t.Name)
	field := func(name string) (policy.Field, error) {
		f, declared := t.Fields[name]
		if i := t.RestrictedIndex(name); !declared || (i >= 0 && !filterable.Has(i)) {
			return f, access.FieldErrorf(access.CodeInvalidField, "attr."+name, "field %s cannot be used to filter or sort", name)
		}
		return f, nil
	}
	if in.Account != nil {
		q.Accounts = a.eng.Subtree(*in.Account)
		if q.Accounts == nil {
			q.Accounts = []string{}
		}
	}
	for key, d := range map[string]string{"date_from": in.DateFrom, "date_to": in.DateTo} {
		if d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return q, access.FieldErrorf(access.CodeInvalid, key, "%s must be YYYY-MM-DD", key)
		}
	}
	q.DateFrom, q.DateTo = in.DateFrom, in.DateTo
	if in.Parent != "" {
		if q.Parent, err = parentFilter(t, in.Parent); err != nil {
			return q, err
		}
	}
	if in.UpdatedSince != "" {
		if !staff {
			return q, access.FieldErrorf(access.CodeInvalid, "updated_since", "updated_since is for staff")
		}
		ts, err := time.Parse(time.RFC3339Nano, in.UpdatedSince)
		if err != nil {
			return q, access.FieldErrorf(access.CodeInvalid, "updated_since", "updated_since must be an RFC 3339 time")
		}
		q.UpdatedSince = &ts
	}
	if in.Sort != "" {
		q.Sort = in.Sort
		switch name := strings.TrimPrefix(strings.TrimPrefix(q.Sort, "-"), "attr."); {
		case q.Sort == "date" || q.Sort == "-date" || q.Sort == "id" || q.Sort == "-id":
		case q.Sort == "updated_at" && staff:
		case strings.HasPrefix(strings.TrimPrefix(q.Sort, "-"), "attr."):
			if _, err := field(name); err != nil {
				return q, err
			}
		default:
			return q, access.FieldErrorf(access.CodeInvalid, "sort", "sort must be date, -date, id, -id, attr.<name> or -attr.<name>")
		}
	}
	// records.md §5: a filter or sort on the owner (the account filter,
	// or the type's owner_field) matches only through paths whose grant
	// covers the row's owner, so rows seen through teams or sharing, whose
	// owner the view hides, never tell whether their owner is X.
	_, ownerFilter := in.Attrs[t.OwnerField]
	ownerSort := strings.TrimPrefix(q.Sort, "-") == "attr."+t.OwnerField
	if in.Account != nil || (t.OwnerField != "" && (ownerFilter || ownerSort)) {
		q.Predicate = q.Predicate.OwnerPaths()
	}
	for name, rg := range in.Ranges {
		f, err := field(name)
		if err != nil {
			return q, err
		}
		if f.Type != policy.FieldDate && f.Type != policy.FieldNumber {
			return q, access.FieldErrorf(access.CodeInvalidField, "attr."+name+".from", "field %s is not a date or number: it has no range", name)
		}
		var out store.Range
		for _, b := range []struct {
			text string
			dst  *any
			key  string
		}{{rg.From, &out.From, ".from"}, {rg.To, &out.To, ".to"}} {
			if b.text == "" {
				continue
			}
			v, err := parseFieldValue(f, b.text)
			if err != nil || (f.Type == policy.FieldDate && len(b.text) != len(time.DateOnly)) {
				return q, access.FieldErrorf(access.CodeInvalid, "attr."+name+b.key, "attr.%s%s must be a %s", name, b.key, map[string]string{policy.FieldDate: "date (YYYY-MM-DD)", policy.FieldNumber: "number"}[f.Type])
			}
			*b.dst = v
		}
		if out.From == nil && out.To == nil {
			continue
		}
		if q.Ranges == nil {
			q.Ranges = map[string]store.Range{}
		}
		q.Ranges[name] = out
	}
	if text := strings.TrimSpace(in.Search); text != "" {
		if len([]rune(text)) > MaxSearch {
			return q, access.FieldErrorf(access.CodeInvalid, "q", "the search text is longer than %d characters", MaxSearch)
		}
		q.Search = &store.TextSearch{Text: text}
		for _, f := range t.FieldList {
			if f.Type != policy.FieldString || f.Name == t.OwnerField {
				continue
			}
			if _, err := field(f.Name); err == nil {
				q.Search.Fields = append(q.Search.Fields, f.Name)
			}
		}
	}
	for name, vals := range in.Attrs {
		f, err := field(name)
		if err != nil {
			return q, err
		}
		if q.Attrs == nil {
			q.Attrs = map[string][]any{}
		}
		for _, v := range vals {
			pv, err := parseFieldValue(f, v)
			if err != nil {
				return q, err
			}
			q.Attrs[name] = append(q.Attrs[name], pv)
		}
	}
	return q, nil
}

// parentFilter parses a list's parent filter, "<type>:<id>", for a list
// of type t: the type must be t's parent_type (CodeInvalid otherwise,
// naming what is expected).
func parentFilter(t *policy.Type, v string) (*access.Ref, error) {
	typ, id, ok := strings.Cut(v, ":")
	switch {
	case !ok || typ == "" || !access.ValidID(id):
		return nil, access.FieldErrorf(access.CodeInvalid, "parent", "parent must be <type>:<id>, e.g. %s:SO-1001", cmp.Or(t.ParentType, "sales_order"))
	case t.ParentType == "":
		return nil, access.FieldErrorf(access.CodeInvalid, "parent", "%s records have no parent", t.Name)
	case typ != t.ParentType:
		return nil, access.FieldErrorf(access.CodeInvalid, "parent", "the parent of a %s is a %s, not %q", t.Name, t.ParentType, typ)
	}
	return &access.Ref{Type: typ, ID: id}, nil
}

// scope is the set of accounts a portal page for account acct shows: its
// subtree as far as the user reaches it.
func (a *App) scope(userID, acct string) map[string]bool {
	reach := map[string]bool{}
	for _, aa := range a.eng.Reach(userID) {
		reach[aa.ID] = true
	}
	out := map[string]bool{}
	for _, id := range a.eng.Subtree(acct) {
		if reach[id] {
			out[id] = true
		}
	}
	return out
}

// parseFieldValue parses a filter value by the field's declared type.
func parseFieldValue(f policy.Field, v string) (any, error) {
	switch f.Type {
	case policy.FieldNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, access.FieldErrorf(access.CodeInvalid, "attr."+f.Name, "attr.%s must be a number", f.Name)
		}
		return n, nil
	case policy.FieldBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, access.FieldErrorf(access.CodeInvalid, "attr."+f.Name, "attr.%s must be true or false", f.Name)
		}
		return b, nil
	case policy.FieldDate:
		if _, err := access.Day(v); err != nil {
			return nil, access.FieldErrorf(access.CodeInvalid, "attr."+f.Name, "attr.%s must be a date", f.Name)
		}
	}
	return v, nil
}

// readable loads a record as the subject may see it: CodeNotFound when it
// does not exist or the subject cannot read it. It returns the stored
// record, the subject's view and the parents loaded for sharing.
func (a *App) readable(ctx context.Context, subj access.User, typ, id string) (rec, view *access.Record, src access.RecordMap, err error) {
	rec, err = a.st.GetRecord(ctx, typ, id)
	if err != nil {
		return nil, nil, nil, err
	}
	src, err = a.source(ctx, rec)
	if err != nil {
		return nil, nil, nil, err
	}
	v, ok := a.eng.View(subj.ID, rec, src)
	if !ok {
		return nil, nil, nil, access.Errorf(access.CodeNotFound, "%s %s not found", typ, id)
	}
	return rec, v, src, nil
}

// GetRecord returns a record as the subject (the actor, or asUser for
// staff) sees it; the boolean says whether the subject is staff (whole
// record, teams included). CodeNotFound for a record the subject cannot
// read.
func (a *App) GetRecord(ctx context.Context, c *Actor, typ, id, asUser string) (*access.Record, bool, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return nil, false, err
	}
	subj, err := a.subject(ctx, c, asUser)
	if err != nil {
		return nil, false, err
	}
	_, v, _, err := a.readable(ctx, subj, t.Name, id)
	return v, subj.Kind == access.KindInternal, err
}

// EditRecord returns a record the subject may update, as it sees it, with
// what it may write on it (records.md §1): CodeNotFound when it cannot
// read it, CodeForbidden when it can only read it. It is what an edit form
// starts from.
func (a *App) EditRecord(ctx context.Context, c *Actor, typ, id, asUser string) (*access.Record, access.Writer, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return nil, access.Writer{}, err
	}
	subj, err := a.subject(ctx, c, asUser)
	if err != nil {
		return nil, access.Writer{}, err
	}
	rec, view, src, err := a.readable(ctx, subj, t.Name, id)
	if err != nil {
		return nil, access.Writer{}, err
	}
	writable, ok := a.eng.WritableFields(subj.ID, rec, src)
	if !ok {
		return nil, access.Writer{}, access.Errorf(access.CodeForbidden, "you may not change this %s", t.Name)
	}
	return view, writable, nil
}

// RecordUpdate is a partial write of a record. For staff (PUT, PATCH,
// batch items) absent fields keep their stored value and null clears
// them; owner and date given (even null) are explicit, else re-derived
// from the type's owner_field and date_field. External users may set only
// Attributes, merged as a JSON Merge Patch.
type RecordUpdate struct {
	Type       Optional[string]             `json:"type"`
	ID         Optional[string]             `json:"id"`
	Owner      Optional[string]             `json:"owner"`
	Date       Optional[string]             `json:"date"`
	Parent     Optional[access.Ref]         `json:"parent"`
	Teams      Optional[[]access.TeamEntry] `json:"teams"`
	Creator    Optional[string]             `json:"creator"`
	Attributes Optional[map[string]any]     `json:"attributes"`
}

// applyTo sets the fields u has on rec; merge says whether attributes merge
// (PATCH) or replace (PUT). It reports whether owner and date are explicit.
func (u *RecordUpdate) applyTo(rec *access.Record, merge bool) (explicitOwner, explicitDate bool, err error) {
	if (u.Type.Value != "" && u.Type.Value != rec.Type) || (u.ID.Value != "" && rec.ID != "" && u.ID.Value != rec.ID) {
		return false, false, access.Errorf(access.CodeInvalid, "body type and id must match the path")
	}
	if u.Parent.Set {
		rec.Parent = nil
		if !u.Parent.Null {
			p := u.Parent.Value
			rec.Parent = &p
		}
	}
	u.Teams.apply(&rec.Teams, nil)
	u.Owner.apply(&rec.Owner, "")
	u.Date.apply(&rec.Date, "")
	u.Creator.apply(&rec.Creator, "")
	if u.Attributes.Set {
		if merge {
			rec.Attributes = access.MergePatch(rec.Attributes, u.Attributes.Value)
		} else {
			rec.Attributes = u.Attributes.Value
		}
	}
	if rec.Attributes == nil {
		rec.Attributes = map[string]any{}
	}
	return u.Owner.Set, u.Date.Set, nil
}

// RecordWrite is the outcome of a record write.
type RecordWrite struct {
	// Record is the stored record as the writer sees it, nil when the
	// writer cannot read it back (an own-scope role and another creator).
	Record   *access.Record
	Staff    bool
	Created  bool
	Revision int64
}

// putRecord fills, validates and stores a record, check repeated inside
// the write transaction: every record write ends here.
func (a *App) putRecord(ctx context.Context, c *Actor, rec *access.Record, explicitOwner, explicitDate bool, check func() error) (bool, int64, error) {
	if err := a.fillRecord(rec, explicitOwner, explicitDate); err != nil {
		return false, 0, err
	}
	return a.st.PutRecord(ctx, write(c, check), rec)
}

// fillRecord fills and validates a record before it is stored.
func (a *App) fillRecord(rec *access.Record, explicitOwner, explicitDate bool) error {
	if err := a.eng.FillRecord(rec, explicitOwner, explicitDate); err != nil {
		return err
	}
	return a.eng.ValidateRecord(rec)
}

// answer reads a written record back as the writer sees it.
func (a *App) answer(ctx context.Context, c *Actor, typ, id string, created bool, rev int64) (RecordWrite, error) {
	w := RecordWrite{Staff: c.Internal(), Created: created, Revision: rev}
	got, err := a.st.GetRecord(ctx, typ, id)
	if err != nil {
		return w, err
	}
	if w.Staff {
		w.Record = got
		return w, nil
	}
	src, err := a.source(ctx, got)
	if err != nil {
		return w, err
	}
	if v, ok := a.eng.View(c.ID(), got, src); ok {
		w.Record = v
	}
	return w, nil
}

// PutRecord is the ERP's upsert of one record (staff writers and their
// tokens; CodeForbidden for anyone else). Absent fields keep their stored
// values (DESIGN.md §5.1).
func (a *App) PutRecord(ctx context.Context, c *Actor, typ, id string, in RecordUpdate) (RecordWrite, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return RecordWrite{}, err
	}
	if err := requireStaffWriter(c); err != nil {
		return RecordWrite{}, err
	}
	if !access.ValidID(id) {
		return RecordWrite{}, access.FieldErrorf(access.CodeInvalid, "id", "record id %q must be 1-64 characters of A-Za-z0-9._:-", id)
	}
	rec, err := a.st.GetRecord(ctx, t.Name, id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound:
		rec = &access.Record{Type: t.Name, ID: id}
	case err != nil:
		return RecordWrite{}, err
	}
	eo, ed, err := in.applyTo(rec, false)
	if err != nil {
		return RecordWrite{}, err
	}
	created, rev, err := a.putRecord(ctx, c, rec, eo, ed, a.staffWriterStill(c))
	if err != nil {
		return RecordWrite{}, err
	}
	return a.answer(ctx, c, t.Name, id, created, rev)
}

// PatchRecord changes a record. Staff writers merge attributes and may
// replace teams, parent, owner, date and creator. An external user changes
// attributes only (the others are CodeForbidden), subject to the write
// rules: every path whose value the patch changes must be among the
// writable fields it may write (records.md §1; hidden, read-only and
// unknown alike CodeInvalidField), the owner_field stays (CodeForbidden),
// and its constraints hold (CodeConstraintViolation), all decided again
// inside the write transaction.
func (a *App) PatchRecord(ctx context.Context, c *Actor, typ, id string, in RecordUpdate) (RecordWrite, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return RecordWrite{}, err
	}
	if c.Internal() {
		if err := requireStaffWriter(c); err != nil {
			return RecordWrite{}, err
		}
		rec, err := a.st.GetRecord(ctx, t.Name, id)
		if err != nil {
			return RecordWrite{}, err
		}
		eo, ed, err := in.applyTo(rec, true)
		if err != nil {
			return RecordWrite{}, err
		}
		_, rev, err := a.putRecord(ctx, c, rec, eo, ed, a.staffWriterStill(c))
		if err != nil {
			return RecordWrite{}, err
		}
		return a.answer(ctx, c, t.Name, id, false, rev)
	}
	rec, view, src, err := a.readable(ctx, c.User, t.Name, id)
	if err != nil {
		return RecordWrite{}, err
	}
	check := func() error {
		writable, ok := a.eng.WritableFields(c.ID(), rec, src)
		if !ok {
			return access.Errorf(access.CodeForbidden, "you may not change this %s", t.Name)
		}
		for name, set := range map[string]bool{"owner": in.Owner.Set, "date": in.Date.Set, "parent": in.Parent.Set, "teams": in.Teams.Set, "creator": in.Creator.Set} {
			if set {
				return access.FieldErrorf(access.CodeForbidden, name, "only staff may change %s", name)
			}
		}
		return a.checkPatch(c, t, rec, view, writable, in.Attributes.Value)
	}
	if err := check(); err != nil {
		return RecordWrite{}, err
	}
	next := *rec
	next.Attributes = access.MergePatch(rec.Attributes, in.Attributes.Value)
	_, rev, err := a.putRecord(ctx, c, &next, true, false, check)
	if err != nil {
		return RecordWrite{}, err
	}
	return a.answer(ctx, c, t.Name, id, false, rev)
}

// checkPatch applies the write rules to an external user's attribute
// patch of rec, which it sees as view: no restricted field it may not
// write, nor an attribute holding one deeper down (CheckPatchWrites, so
// hidden values survive); the owner_field left as it is (CodeForbidden:
// moving a record to another account is the ERP's, and naming an
// owner_field the view hides is refused whatever its value, so the answer
// tells nothing about it); every path whose value changes among the
// writable fields the user may write (access.CheckWrite: an unchanged
// read-only value sent back is no write); and the user's current
// constraints on the attributes the patch changes (§5.12).
func (a *App) checkPatch(c *Actor, t *policy.Type, rec, view *access.Record, w access.Writer, patch map[string]any) error {
	if err := access.CheckPatchWrites(t, w.Fields, patch); err != nil {
		return err
	}
	next := access.MergePatch(rec.Attributes, patch)
	if v, ok := patch[t.OwnerField]; ok && t.OwnerField != "" {
		if _, shown := view.Attributes[t.OwnerField]; !shown || !reflect.DeepEqual(rec.Attributes[t.OwnerField], v) {
			return access.FieldErrorf(access.CodeForbidden, t.OwnerField, "attribute %s sets the owner; only staff may change it", t.OwnerField)
		}
	}
	if err := access.CheckWrite(t, w, rec.Attributes, next); err != nil {
		return err
	}
	changed := map[string]any{}
	for k, v := range patch {
		if !reflect.DeepEqual(rec.Attributes[k], v) {
			changed[k] = v
		}
	}
	u, ok := a.eng.User(c.ID())
	if !ok {
		return access.Errorf(access.CodeForbidden, "you may not change this %s", t.Name)
	}
	return access.CheckConstraints(u, t.Name, changed)
}

// RecordCreate is a record created as the actor (POST): the server assigns
// the id (staff may give one) and sets the creator. An external user names
// the account to create under in Owner (optional when it can create under
// exactly one) and may set nothing but Owner and Attributes. For staff,
// Owner and Date given (even null) are explicit, as in RecordUpdate: null
// makes the record unowned or undated whatever its owner_field or
// date_field says; absent, they are derived from those attributes.
type RecordCreate struct {
	ID         string             `json:"id"`
	Owner      Optional[string]   `json:"owner"`
	Date       Optional[string]   `json:"date"`
	Parent     *access.Ref        `json:"parent"`
	Teams      []access.TeamEntry `json:"teams"`
	Attributes map[string]any     `json:"attributes"`
}

// CreateRecord creates a record as the actor (DESIGN.md §2 Create). For an
// external user it checks, inside the write transaction too, the create
// permission under the owner, that every attribute given is one it may
// write (records.md §1: the type's writable fields its roles allow, a
// restricted one only with a fields grant; CodeInvalidField) and its
// constraints on them; the stored record then has the type's defaults,
// the owner_field from the owner, the date_field today and, for a type
// with a number_field, the next number of the type's sequence as its id
// (an external user never picks an id: CodeForbidden). Errors:
// CodeForbidden, CodeInvalid, CodeInvalidField, CodeConstraintViolation,
// CodeConflict (a staff-given id in use).
func (a *App) CreateRecord(ctx context.Context, c *Actor, typ string, in RecordCreate) (RecordWrite, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return RecordWrite{}, err
	}
	if in.Attributes == nil {
		in.Attributes = map[string]any{}
	}
	rec := &access.Record{Type: t.Name, ID: NewRecordID(), Owner: in.Owner.Value, Date: in.Date.Value, Creator: c.ID(), Attributes: in.Attributes}
	if c.Internal() {
		if err := requireStaffWriter(c); err != nil {
			return RecordWrite{}, err
		}
		if in.ID != "" {
			if !access.ValidID(in.ID) {
				return RecordWrite{}, access.FieldErrorf(access.CodeInvalid, "id", "record id %q must be 1-64 characters of A-Za-z0-9._:-", in.ID)
			}
			if _, err := a.st.GetRecord(ctx, t.Name, in.ID); err == nil {
				return RecordWrite{}, access.FieldErrorf(access.CodeConflict, "id", "%s %s already exists", t.Name, in.ID)
			}
			rec.ID = in.ID
		}
		rec.Parent, rec.Teams = in.Parent, in.Teams
		created, rev, err := a.putRecord(ctx, c, rec, in.Owner.Set, in.Date.Set, a.staffWriterStill(c))
		if err != nil {
			return RecordWrite{}, err
		}
		return a.answer(ctx, c, t.Name, rec.ID, created, rev)
	}
	if in.ID != "" || in.Parent != nil || in.Teams != nil || in.Date.Set {
		return RecordWrite{}, access.Errorf(access.CodeForbidden, "only staff may set id, date, parent or teams")
	}
	// The owner_field names the owner too (a ticket's site): given alone
	// it is the account to create under; given with owner, the same one.
	if s, ok := rec.Attributes[t.OwnerField].(string); ok && t.OwnerField != "" {
		switch {
		case rec.Owner == "":
			rec.Owner = s
		case s != rec.Owner:
			return RecordWrite{}, access.FieldErrorf(access.CodeInvalid, t.OwnerField, "%s must be the account the %s is created under", t.OwnerField, t.Name)
		}
	}
	if rec.Owner == "" {
		accts := a.eng.CreateAccounts(c.ID(), t.Name)
		if len(accts) != 1 {
			if len(accts) == 0 {
				return RecordWrite{}, access.Errorf(access.CodeForbidden, "you may not create %s records", t.Name)
			}
			return RecordWrite{}, access.FieldErrorf(access.CodeInvalid, "owner", "owner is required: the account to create the %s under", t.Name)
		}
		rec.Owner = accts[0]
	}
	attrs := rec.Attributes
	check := func() error {
		w, err := a.eng.CanCreate(c.ID(), t.Name, rec.Owner)
		if err != nil {
			return err
		}
		u, ok := a.eng.User(c.ID())
		if !ok {
			return access.Errorf(access.CodeForbidden, "you may not create %s records", t.Name)
		}
		if err := access.CheckWrite(t, w, nil, attrs); err != nil {
			return err
		}
		return access.CheckConstraints(u, t.Name, attrs)
	}
	if err := check(); err != nil {
		return RecordWrite{}, err
	}
	rec.Attributes = externalAttributes(t, attrs, rec.Owner, a.Now())
	if err := a.fillRecord(rec, true, false); err != nil {
		return RecordWrite{}, err
	}
	var (
		created = true
		rev     int64
	)
	if t.NumberField != "" {
		rev, err = a.st.CreateNumberedRecord(ctx, write(c, check), rec, store.Numbering{Prefix: t.NumberPrefix, Field: t.NumberField})
	} else {
		created, rev, err = a.st.PutRecord(ctx, write(c, check), rec)
	}
	if err != nil {
		return RecordWrite{}, err
	}
	return a.answer(ctx, c, t.Name, rec.ID, created, rev)
}

// externalAttributes are the attributes an external create stores
// (records.md §1): what the user set (checked by access.CheckWrite), the
// type's defaults where it set nothing, the owner_field naming the owner,
// and the date_field today (the server's UTC date, never the client's),
// from which the record's date follows. The number_field is the store's
// (CreateNumberedRecord).
func externalAttributes(t *policy.Type, set map[string]any, owner string, now time.Time) map[string]any {
	out := make(map[string]any, len(set)+len(t.Defaults)+2)
	for k, v := range t.Defaults {
		out[k] = access.CopyValue(v)
	}
	for k, v := range set {
		out[k] = v
	}
	if t.OwnerField != "" {
		out[t.OwnerField] = owner
	}
	if t.DateField != "" {
		out[t.DateField] = now.UTC().Format(time.DateOnly)
	}
	return out
}

// DeleteRecord deletes a record (staff writers; deleting a missing record
// is a no-op). An external user gets CodeNotFound for a record it cannot
// read and CodeForbidden for one it can.
func (a *App) DeleteRecord(ctx context.Context, c *Actor, typ, id string) (int64, error) {
	t, err := a.recordType(typ)
	if err != nil {
		return 0, err
	}
	if !c.Internal() {
		if _, _, _, err := a.readable(ctx, c.User, t.Name, id); err != nil {
			return 0, err
		}
		return 0, access.Errorf(access.CodeForbidden, "only staff delete records")
	}
	if err := requireStaffWriter(c); err != nil {
		return 0, err
	}
	return a.st.DeleteRecord(ctx, write(c, a.staffWriterStill(c)), t.Name, id)
}

var recordIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewRecordID returns a server-assigned record id: "r" and 16 random
// characters of [a-z2-7] (80 bits), revealing neither order nor count.
func NewRecordID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "r" + recordIDEncoding.EncodeToString(b[:])
}

// RecordInAccount reports whether the subject (the actor, or asUser for
// staff viewing as a user) sees record typ/id through the account acct of
// its portal account switcher: the paths Predicate.Within keeps for that
// account's subtree, as the portal's lists of acct do. A record the
// subject reads through another of its accounts is not there, so a detail
// page never shows one customer's record under another's header.
func (a *App) RecordInAccount(ctx context.Context, c *Actor, typ, id, asUser, acct string) (bool, error) {
	subj, err := a.subject(ctx, c, asUser)
	if err != nil {
		return false, err
	}
	if subj.Kind == access.KindInternal {
		return true, nil
	}
	pred, err := a.eng.Predicate(subj.ID, typ, policy.Read)
	if err != nil {
		return false, err
	}
	ref := access.Ref{Type: typ, ID: id}
	src, err := a.heads(ctx, []access.Ref{ref})
	if err != nil {
		return false, err
	}
	rec := src[ref]
	return rec != nil && pred.Within(a.scope(subj.ID, acct)).Matches(rec, src), nil
}
