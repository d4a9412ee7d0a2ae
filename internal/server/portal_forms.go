package server

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// This file holds the portal's "new record" and "edit record" forms and the
// record write rules they share with the JSON API (POST and PATCH
// /api/v1/records/...): createAsUser, editableAsUser and patchAsUser are
// the only code paths by which an external user creates or changes a
// record, so the form and the API cannot disagree.

// createAsUser creates a record of type t as the external user u under
// account owner (DESIGN.md §2 Create): the server assigns the id and sets
// creator; owner "" means the one account u may create under (invalid when
// there are several). It checks the create permission, u's constraints
// (every attribute given, §5.12) and restricted-field writes, fills the
// type's owner_field from the owner, and stores the record.
func (s *Server) createAsUser(ctx context.Context, u access.User, t *policy.Type, owner string, attrs map[string]any) (*access.Record, bool, int64, error) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	rec := &access.Record{Type: t.Name, ID: newRecordID(), Owner: owner, Creator: u.ID, Attributes: attrs}
	if rec.Owner == "" {
		accts := s.engine.CreateAccounts(u.ID, t.Name)
		if len(accts) != 1 {
			if len(accts) == 0 {
				return nil, false, 0, access.Errorf(access.CodeForbidden, "you may not create %s records", t.Name)
			}
			return nil, false, 0, access.Errorf(access.CodeInvalid, "owner is required: the account to create the %s under", t.Name)
		}
		rec.Owner = accts[0]
	}
	writable, err := s.engine.CanCreate(u.ID, t.Name, rec.Owner)
	if err != nil {
		return nil, false, 0, err
	}
	if err := access.CheckConstraints(u, t.Name, rec.Attributes); err != nil {
		return nil, false, 0, err
	}
	if err := access.CheckFieldWrites(t, writable, rec.Attributes); err != nil {
		return nil, false, 0, err
	}
	if t.OwnerField != "" {
		rec.Attributes[t.OwnerField] = rec.Owner
	}
	// A record created in the portal without its date attribute (a ticket's
	// "created") is dated today, so it sorts and filters with the others.
	if _, given := rec.Attributes[t.DateField]; t.DateField != "" && !given {
		rec.Attributes[t.DateField] = s.engine.Now().UTC().Format(time.DateOnly)
	}
	created, rev, err := s.putRecord(ctx, rec, true, false)
	if err != nil {
		return nil, false, 0, err
	}
	return rec, created, rev, nil
}

// editableAsUser loads a record u may update, as stored and as u sees it,
// with the restricted fields u may write on it: 404 when u cannot read it,
// 403 when it can only read it.
func (s *Server) editableAsUser(ctx context.Context, u access.User, t *policy.Type, id string) (rec, view *access.Record, writable policy.FieldSet, err error) {
	rec, view, src, err := s.readable(ctx, u, t.Name, id)
	if err != nil {
		return nil, nil, 0, err
	}
	writable, ok := s.engine.WritableFields(u.ID, rec, src)
	if !ok {
		return nil, nil, 0, access.Errorf(access.CodeForbidden, "you may not change this %s", t.Name)
	}
	return rec, view, writable, nil
}

// patchAsUser applies an attribute merge patch (RFC 7396) of the external
// user u to rec, loaded by editableAsUser with its writable fields: no
// restricted field outside writable (nor an attribute holding one deeper
// down), not the owner_field, and u's constraints on the attributes the
// patch changes (§5.12). It stores the record.
func (s *Server) patchAsUser(ctx context.Context, u access.User, t *policy.Type, rec *access.Record, writable policy.FieldSet, patch map[string]any) (bool, int64, error) {
	if err := access.CheckPatchWrites(t, writable, patch); err != nil {
		return false, 0, err
	}
	if _, ok := patch[t.OwnerField]; ok && t.OwnerField != "" {
		return false, 0, access.Errorf(access.CodeForbidden, "attribute %s sets the owner; only staff may change it", t.OwnerField)
	}
	changed := map[string]any{}
	for k, v := range patch {
		if !reflect.DeepEqual(rec.Attributes[k], v) {
			changed[k] = v
		}
	}
	if err := access.CheckConstraints(u, t.Name, changed); err != nil {
		return false, 0, err
	}
	rec.Attributes = mergePatch(rec.Attributes, patch)
	return s.putRecord(ctx, rec, true, false)
}

// choice is one choice of a <select>.
type choice struct {
	Value, Label string
	Selected     bool
}

// recordInput is one input of a record form, built from a declared field of
// the policy type.
type recordInput struct {
	Name, Label string
	// Kind is select, number, date, bool or text.
	Kind    string
	Options []choice
	Value   string
}

// recordFormData is what portal_form.html receives: one template serves
// the new and the edit form (Record set), so both render fields alike.
type recordFormData struct {
	Type   *policy.Type
	Base   string // the current account's URL prefix
	Action string // where the form posts
	Cancel string // where "Cancel" goes
	Submit string // the submit button's label
	Record *access.Record
	// Accounts is the account choice, shown when the user may create under
	// several accounts of the current account's subtree.
	Accounts []choice
	Fields   []recordInput
	// ReadOnly is set for view as: the form is shown, disabled.
	ReadOnly bool
}

// recordInputs builds the inputs of a record form for user u (decisions where
// DESIGN.md is silent):
//
//   - Inputs come from the type's declared fields, in declaration order.
//     Undeclared attributes are kept as they are and not offered.
//   - The type's owner_field is never an input: the server fills it from
//     the account the record is created under, and only staff change it.
//   - A restricted field is an input only when writable holds it (CanCreate
//     or WritableFields); so is a declared field that holds a restricted
//     path deeper down (lines for lines[].price). Hidden fields never appear.
//   - A string field with declared values, or constrained for u, is a
//     <select> offering the declared values u's constraints allow (for a
//     constrained field without declared values, e.g. a ticket's
//     responsible, exactly the constrained values). On an edit form a stored
//     value outside those choices stays selectable, marked "current", so
//     saving other changes never rewrites it (constraints check only what
//     a write changes, §5.12).
//   - Declared values are choices the form offers, not a validation rule
//     of their own: a forged value reaches the same engine checks as the
//     API (constraints, restricted fields) and nothing else.
//   - number, date and bool fields get number, date and yes/no inputs;
//     an empty input means "not set" (on edit: removes the attribute).
func recordInputs(t *policy.Type, u access.User, writable policy.FieldSet, current map[string]any, editing bool) []recordInput {
	var out []recordInput
	for _, f := range t.FieldList {
		if f.Name == t.OwnerField || !recordFieldWritable(t, writable, f.Name) {
			continue
		}
		ff := recordInput{Name: f.Name, Label: fieldLabel(f.Name), Kind: "text"}
		if v, ok := current[f.Name]; ok {
			s, ok := recordInputValue(f, v)
			if !ok {
				continue // an object or array: not editable in a form
			}
			ff.Value = s
		}
		allowed, constrained := u.Constraints[t.Name][f.Name]
		switch f.Type {
		case policy.FieldNumber:
			ff.Kind = "number"
		case policy.FieldDate:
			ff.Kind = "date"
		case policy.FieldBool:
			ff.Kind = "bool"
			ff.Options = []choice{{Value: "true", Label: "yes"}, {Value: "false", Label: "no"}}
		default:
			if len(f.Values) == 0 && !constrained {
				break
			}
			ff.Kind = "select"
			choices := f.Values
			if constrained {
				if len(f.Values) == 0 {
					choices = allowed
				} else {
					choices = nil
					for _, v := range f.Values {
						if slices.Contains(allowed, v) {
							choices = append(choices, v)
						}
					}
				}
			}
			for _, v := range choices {
				ff.Options = append(ff.Options, choice{Value: v, Label: strings.ReplaceAll(v, "_", " ")})
			}
			if !editing && ff.Value == "" && constrained && len(choices) == 1 {
				ff.Value = choices[0] // the one value u may use
			}
			if editing && ff.Value != "" && !slices.Contains(choices, ff.Value) {
				ff.Options = append(ff.Options, choice{Value: ff.Value, Label: ff.Value + " (current)"})
			}
		}
		for i := range ff.Options {
			ff.Options[i].Selected = ff.Options[i].Value == ff.Value
		}
		out = append(out, ff)
	}
	return out
}

// fieldLabel is a field's name as a label: "order_date" is "Order date".
func fieldLabel(name string) string {
	l := strings.ReplaceAll(name, "_", " ")
	if l == "" {
		return l
	}
	return strings.ToUpper(l[:1]) + l[1:]
}

// recordFieldWritable reports whether a declared field may be written with
// writable: a restricted field needs to be in it, and so does every
// restricted path below the field.
func recordFieldWritable(t *policy.Type, writable policy.FieldSet, name string) bool {
	for i, fp := range t.Restricted {
		if fp.Segments[0].Name == name && !writable.Has(i) {
			return false
		}
	}
	return true
}

// recordInputValue renders a stored scalar as an input's value; a date shows as
// its UTC calendar date.
func recordInputValue(f policy.Field, v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case string:
		if f.Type == policy.FieldDate {
			if d, err := access.Day(x); err == nil {
				return d, true
			}
		}
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// parseRecordInput parses a submitted value by the field's declared type.
func parseRecordInput(f policy.Field, raw string) (any, string) {
	switch f.Type {
	case policy.FieldNumber:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, "Enter a number."
		}
		return n, ""
	case policy.FieldBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, "Choose yes or no."
		}
		return b, ""
	case policy.FieldDate:
		if len(raw) != 10 {
			return nil, "Enter a date as YYYY-MM-DD."
		}
		if _, err := access.Day(raw); err != nil {
			return nil, "Enter a date as YYYY-MM-DD."
		}
	}
	return raw, ""
}

// readRecordForm turns the submitted inputs into attributes. For a create
// (current nil) it returns the non-empty values; for an edit, a merge patch
// of what changed: an emptied input deletes the attribute, an input the
// request does not carry is left alone. Only the form's own fields are
// read, so a forged input for a hidden field is never written.
func readRecordForm(t *policy.Type, form url.Values, ff []recordInput, current map[string]any) (map[string]any, map[string]string) {
	attrs := map[string]any{}
	errs := map[string]string{}
	for _, in := range ff {
		vals, present := form[in.Name]
		if !present {
			continue
		}
		raw := strings.TrimSpace(vals[0])
		old, had := current[in.Name]
		if raw == "" {
			if current != nil && had {
				attrs[in.Name] = nil
			}
			continue
		}
		f := t.Fields[in.Name]
		v, msg := parseRecordInput(f, raw)
		if msg != "" {
			errs[in.Name] = msg
			continue
		}
		if current != nil && had {
			if s, ok := recordInputValue(f, old); ok && s == raw {
				continue // unchanged (a stored instant shows as its date)
			}
		}
		attrs[in.Name] = v
	}
	return attrs, errs
}

// recordErrorField names the form field an engine error is about: the attribute
// a constraint_violation or invalid_field error names, or, when given,
// fallback for any other refusal. It returns "" for none.
func recordErrorField(err error, u access.User, t *policy.Type, attrs map[string]any, fallback string) string {
	e, ok := err.(*access.Error)
	if !ok {
		return ""
	}
	switch e.Code {
	case access.CodeConstraintViolation:
		names := make([]string, 0, len(u.Constraints[t.Name]))
		for n := range u.Constraints[t.Name] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if v, ok := attrs[n]; ok && access.CheckConstraints(u, t.Name, map[string]any{n: v}) != nil {
				return n
			}
		}
	case access.CodeInvalidField:
		if rest, ok := strings.CutPrefix(e.Message, "field "); ok {
			name, _, _ := strings.Cut(rest, " ")
			name, _, _ = strings.Cut(name, ".")
			name, _, _ = strings.Cut(name, "[")
			return name
		}
	case access.CodeForbidden, access.CodeInvalid:
		return fallback
	}
	return ""
}

// formType resolves the {type} of a form page: 404 for a type the current
// account does not let the subject read.
func (s *Server) formType(r *http.Request, pc *portalCtx) (*policy.Type, error) {
	t := pc.pol().Type(r.PathValue("type"))
	if t == nil || pc.current == nil || !pc.allows(t.Name, policy.ActionRead) {
		return nil, access.Errorf(access.CodeNotFound, "no such page")
	}
	return t, nil
}

// errViewAsReadOnly refuses every write made while viewing as a user.
var errViewAsReadOnly = access.Errorf(access.CodeForbidden, "view as is read-only: nothing can be changed while viewing the portal as another user")

// createChoices are the accounts a new record of type t may be created
// under from the current account's pages: CreateAccounts (the accounts an
// active read_write grant with create on t covers) within the current
// account's subtree, the current account first. Read-only sites never
// appear.
func (s *Server) createChoices(pc *portalCtx, t *policy.Type, selected string) []choice {
	scope := pc.scope(s)
	names := map[string]string{}
	for _, a := range pc.accounts {
		names[a.ID] = a.Name
	}
	var out []choice
	for _, id := range s.engine.CreateAccounts(pc.subject.ID, t.Name) {
		if !scope[id] {
			continue
		}
		o := choice{Value: id, Label: names[id] + " (" + id + ")", Selected: id == selected}
		if id == pc.current.ID {
			out = append([]choice{o}, out...)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// handlePortalNew shows the "new record" form (new ticket, new order) for
// a type the current account allows creating; the type's date_field starts
// at today's date.
func (s *Server) handlePortalNew(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := s.formType(r, pc)
	if err != nil {
		return err
	}
	if !pc.allows(t.Name, policy.ActionCreate) {
		return access.Errorf(access.CodeForbidden, "you may not create %s records here", typeTitle(t))
	}
	current := map[string]any{}
	if f, ok := t.Fields[t.DateField]; ok && f.Type == policy.FieldDate {
		current[t.DateField] = s.engine.Now().UTC().Format(time.DateOnly)
	}
	s.renderNew(w, r, pc, t, pc.current.ID, current, nil, "", http.StatusOK)
	return nil
}

// renderNew renders the new-record form with values and errors.
func (s *Server) renderNew(w http.ResponseWriter, r *http.Request, pc *portalCtx, t *policy.Type, owner string, values map[string]any, errs map[string]string, msg string, status int) {
	writable, err := s.engine.CanCreate(pc.subject.ID, t.Name, owner)
	if err != nil {
		writable, _ = s.engine.CanCreate(pc.subject.ID, t.Name, pc.current.ID)
	}
	d := recordFormData{Type: t, Base: pc.accountURL(), Action: pc.accountURL() + url.PathEscape(t.Name) + "/new",
		Cancel: pc.accountURL() + url.PathEscape(t.Name), Submit: "Create " + strings.ToLower(typeTitle(t)), ReadOnly: pc.viewAs,
		Fields: recordInputs(t, pc.subject, writable, values, false)}
	if accts := s.createChoices(pc, t, owner); len(accts) > 1 {
		d.Accounts = accts
	}
	p := pc.page("New "+strings.ToLower(typeTitle(t)), t.Name)
	p.Data, p.Errors, p.Error = d, errs, msg
	s.render(w, r, status, "portal_form", p)
}

// handlePortalCreate creates a record from the form through createAsUser,
// the API's create rules; on error the form comes back with the message
// next to the field at fault, on success the browser goes to the new
// record with a "created" message.
func (s *Server) handlePortalCreate(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	if pc.viewAs {
		return errViewAsReadOnly
	}
	t, err := s.formType(r, pc)
	if err != nil {
		return err
	}
	if !pc.allows(t.Name, policy.ActionCreate) {
		return access.Errorf(access.CodeForbidden, "you may not create %s records here", typeTitle(t))
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	owner := r.PostForm.Get("owner")
	if owner == "" {
		owner = pc.current.ID
	}
	writable, _ := s.engine.CanCreate(pc.subject.ID, t.Name, owner)
	ff := recordInputs(t, pc.subject, writable, nil, false)
	attrs, errs := readRecordForm(t, r.PostForm, ff, nil)
	values := submittedValues(r.PostForm, ff)
	if len(errs) > 0 {
		s.renderNew(w, r, pc, t, owner, values, errs, "Please correct the marked fields.", http.StatusBadRequest)
		return nil
	}
	rec, _, _, err := s.createAsUser(r.Context(), pc.subject, t, owner, attrs)
	if err != nil {
		if access.ErrorCode(err) == access.CodeInternal {
			return err
		}
		msg := err.(*access.Error).Message
		errs := map[string]string{}
		if f := recordErrorField(err, pc.subject, t, attrs, "owner"); f != "" {
			errs[f] = msg
		}
		s.renderNew(w, r, pc, t, owner, values, errs, typeTitle(t)+" not created: "+msg, statusOf[access.ErrorCode(err)])
		return nil
	}
	http.Redirect(w, r, s.afterWrite(r, pc, rec, "created"), http.StatusSeeOther)
	return nil
}

// submitted keeps the user's input for a re-rendered form.
func submittedValues(form url.Values, ff []recordInput) map[string]any {
	out := map[string]any{}
	for _, f := range ff {
		if v := strings.TrimSpace(form.Get(f.Name)); v != "" {
			out[f.Name] = v
		}
	}
	return out
}

// afterWrite is where the browser goes after a successful write: the
// record's page with a flash message, or the list when the writer cannot
// read the record back.
func (s *Server) afterWrite(r *http.Request, pc *portalCtx, rec *access.Record, flash string) string {
	list := pc.accountURL() + url.PathEscape(rec.Type)
	if _, _, _, err := s.readable(r.Context(), pc.subject, rec.Type, rec.ID); err != nil {
		return list + "?done=" + flash
	}
	return list + "/" + url.PathEscape(rec.ID) + "?done=" + flash
}

// handlePortalEdit shows the edit form of a record the subject may update:
// 404 for a record it cannot read, 403 for one it may only read. Values
// come from the subject's view, so a hidden value never reaches the page.
func (s *Server) handlePortalEdit(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := s.formType(r, pc)
	if err != nil {
		return err
	}
	_, view, writable, err := s.editableAsUser(r.Context(), pc.subject, t, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.renderEdit(w, r, pc, t, view, writable, view.Attributes, nil, "", http.StatusOK)
	return nil
}

// renderEdit renders the edit form with values and errors.
func (s *Server) renderEdit(w http.ResponseWriter, r *http.Request, pc *portalCtx, t *policy.Type, view *access.Record, writable policy.FieldSet, values map[string]any, errs map[string]string, msg string, status int) {
	recURL := pc.accountURL() + url.PathEscape(t.Name) + "/" + url.PathEscape(view.ID)
	d := recordFormData{Type: t, Base: pc.accountURL(), Action: recURL + "/edit", Cancel: recURL, Submit: "Save changes", Record: view,
		ReadOnly: pc.viewAs, Fields: recordInputs(t, pc.subject, writable, values, true)}
	p := pc.page("Edit "+strings.ToLower(typeTitle(t))+" "+view.ID, t.Name)
	p.Data, p.Errors, p.Error = d, errs, msg
	s.render(w, r, status, "portal_form", p)
}

// handlePortalUpdate saves the edit form through patchAsUser, the API
// PATCH's rules, as a merge patch of the fields that changed.
func (s *Server) handlePortalUpdate(w http.ResponseWriter, r *http.Request, c *caller) error {
	pc, err := s.portal(r, c)
	if err != nil {
		return err
	}
	if pc.viewAs {
		return errViewAsReadOnly
	}
	t, err := s.formType(r, pc)
	if err != nil {
		return err
	}
	rec, view, writable, err := s.editableAsUser(r.Context(), pc.subject, t, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	ff := recordInputs(t, pc.subject, writable, view.Attributes, true)
	patch, errs := readRecordForm(t, r.PostForm, ff, view.Attributes)
	values := mergePatch(view.Attributes, submittedValues(r.PostForm, ff))
	if len(errs) > 0 {
		s.renderEdit(w, r, pc, t, view, writable, values, errs, "Please correct the marked fields.", http.StatusBadRequest)
		return nil
	}
	if len(patch) > 0 {
		if _, _, err := s.patchAsUser(r.Context(), pc.subject, t, rec, writable, patch); err != nil {
			if access.ErrorCode(err) == access.CodeInternal {
				return err
			}
			msg := err.(*access.Error).Message
			errs := map[string]string{}
			if f := recordErrorField(err, pc.subject, t, patch, ""); f != "" {
				errs[f] = msg
			}
			s.renderEdit(w, r, pc, t, view, writable, values, errs, "Not saved: "+msg, statusOf[access.ErrorCode(err)])
			return nil
		}
	}
	http.Redirect(w, r, s.afterWrite(r, pc, rec, "saved"), http.StatusSeeOther)
	return nil
}
