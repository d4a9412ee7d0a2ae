package portal

import (
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The "new record" and "edit record" forms (decisions in doc.go). Writes go
// through app.CreateRecord and app.PatchRecord, the API's POST and PATCH.

// recordInput is one input of a record form, built from a declared field of
// the policy type.
type recordInput struct {
	Name, Label string
	// Kind is select, number, date, bool or text.
	Kind    string
	Options []render.Choice
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
	Accounts []render.Choice
	Fields   []recordInput
	// ReadOnly is set for view as: the form is shown, disabled.
	ReadOnly bool
}

// recordInputs builds the inputs of a record form for user u, who may
// write the restricted fields in writable; current holds the values to
// show.
func recordInputs(t *policy.Type, u access.User, writable policy.FieldSet, current map[string]any, editing bool) []recordInput {
	var out []recordInput
	for _, f := range t.FieldList {
		if f.Name == t.OwnerField || !recordFieldWritable(t, writable, f.Name) {
			continue
		}
		ff := recordInput{Name: f.Name, Label: render.FieldLabel(f.Name), Kind: "text"}
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
			ff.Options = []render.Choice{{Value: "true", Label: "yes"}, {Value: "false", Label: "no"}}
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
				ff.Options = append(ff.Options, render.Choice{Value: v, Label: strings.ReplaceAll(v, "_", " ")})
			}
			if !editing && ff.Value == "" && constrained && len(choices) == 1 {
				ff.Value = choices[0] // the one value u may use
			}
			if editing && ff.Value != "" && !slices.Contains(choices, ff.Value) {
				ff.Options = append(ff.Options, render.Choice{Value: ff.Value, Label: ff.Value + " (current)"})
			}
		}
		for i := range ff.Options {
			ff.Options[i].Selected = ff.Options[i].Value == ff.Value
		}
		out = append(out, ff)
	}
	return out
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

// recordInputValue renders a stored scalar as an input's value; a date
// shows as its UTC calendar date.
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

// parseRecordInput parses a submitted value by the field's declared type;
// the string is the message for the input when it does not parse.
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
// request does not carry is left alone. Only the form's own inputs are
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

// submittedValues keeps the user's input for a re-rendered form.
func submittedValues(form url.Values, ff []recordInput) map[string]any {
	out := map[string]any{}
	for _, f := range ff {
		if v := strings.TrimSpace(form.Get(f.Name)); v != "" {
			out[f.Name] = v
		}
	}
	return out
}

// inputsOf maps the fields of write errors (an attribute's name) to the
// form's inputs, whose errors the template shows by the same name.
func inputsOf(ff []recordInput) map[string]string {
	out := make(map[string]string, len(ff)+1)
	for _, in := range ff {
		out[in.Name] = in.Name
	}
	return out
}

// formType resolves the {type} of a form page: 404 for a type the current
// account does not let the subject read.
func (v *view) formType(r *http.Request) (*policy.Type, error) {
	t := v.pol.Type(r.PathValue("type"))
	if t == nil || !v.allows(t.Name, policy.ActionRead) {
		return nil, access.Errorf(access.CodeNotFound, "no such page")
	}
	return t, nil
}

// createType is formType for the "new record" pages: 403 when the current
// account does not allow creating the type.
func (v *view) createType(r *http.Request) (*policy.Type, error) {
	t, err := v.formType(r)
	if err != nil {
		return nil, err
	}
	if !v.allows(t.Name, policy.ActionCreate) {
		return nil, access.Errorf(access.CodeForbidden, "you may not create %s records here", render.TypeTitle(t))
	}
	return t, nil
}

// createChoices are the accounts a new record of type t may be created
// under from the current account's pages: those the subject may create
// under (Engine.CreateAccounts) within the current account's subtree, the
// current account first. Read-only sites never appear.
func (v *view) createChoices(t *policy.Type, selected string) []render.Choice {
	scope := v.scope()
	names := map[string]string{}
	for _, a := range v.accounts {
		names[a.ID] = a.Name
	}
	var out []render.Choice
	for _, id := range v.eng.CreateAccounts(v.subject.ID, t.Name) {
		if !scope[id] {
			continue
		}
		o := render.Choice{Value: id, Label: names[id] + " (" + id + ")", Selected: id == selected}
		if id == v.current.ID {
			out = append([]render.Choice{o}, out...)
		} else {
			out = append(out, o)
		}
	}
	return out
}

// createFields are the restricted fields the new-record form offers under
// owner: what the subject may write there, else under the current account,
// else none.
func (s *Surface) createFields(c *app.Actor, v *view, t *policy.Type, owner string) policy.FieldSet {
	writable, err := s.app.CreateFields(c, t.Name, owner, v.asUser())
	if err != nil {
		writable, _ = s.app.CreateFields(c, t.Name, v.current.ID, v.asUser())
	}
	return writable
}

// handleNew shows the "new record" form (new ticket, new order) for a type
// the current account allows creating; the type's date_field starts at
// today's date.
func (s *Surface) handleNew(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := v.createType(r)
	if err != nil {
		return err
	}
	current := map[string]any{}
	if f, ok := t.Fields[t.DateField]; ok && f.Type == policy.FieldDate {
		current[t.DateField] = s.app.Now().UTC().Format(time.DateOnly)
	}
	s.renderNew(w, r, c, v, t, v.current.ID, current, nil, "", http.StatusOK)
	return nil
}

// renderNew renders the new-record form with values and errors.
func (s *Surface) renderNew(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, t *policy.Type, owner string, values map[string]any, errs map[string]string, msg string, status int) {
	d := recordFormData{Type: t, Base: v.accountURL(), Action: v.accountURL() + url.PathEscape(t.Name) + "/new",
		Cancel: v.accountURL() + url.PathEscape(t.Name), Submit: "Create " + strings.ToLower(render.TypeTitle(t)), ReadOnly: v.viewAs,
		Fields: recordInputs(t, v.subject, s.createFields(c, v, t, owner), values, false)}
	if accts := v.createChoices(t, owner); len(accts) > 1 {
		d.Accounts = accts
	}
	p := v.page("New "+strings.ToLower(render.TypeTitle(t)), t.Name)
	p.Data, p.Errors, p.Error = d, errs, msg
	s.rd.Render(w, r, status, "portal_form", p)
}

// handleCreate creates a record from the form (app.CreateRecord, the API's
// create rules); on error the form comes back with the message next to the
// input at fault, on success the browser goes to the new record with a
// "created" message.
func (s *Surface) handleCreate(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := v.createType(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	owner := r.PostForm.Get("owner")
	if owner == "" {
		owner = v.current.ID
	}
	writable, _ := s.app.CreateFields(c, t.Name, owner, "")
	ff := recordInputs(t, v.subject, writable, nil, false)
	attrs, errs := readRecordForm(t, r.PostForm, ff, nil)
	values := submittedValues(r.PostForm, ff)
	if len(errs) > 0 {
		s.renderNew(w, r, c, v, t, owner, values, errs, "Please correct the marked fields.", http.StatusBadRequest)
		return nil
	}
	res, err := s.app.CreateRecord(r.Context(), c, t.Name, app.RecordCreate{Owner: app.Some(owner), Attributes: attrs})
	if err != nil {
		fp := &render.Page{}
		inputs := inputsOf(ff)
		inputs["owner"] = "owner"
		status, ierr := render.FormError(fp, err, inputs)
		if ierr != nil {
			return ierr
		}
		if e := surface.DomainError(err); e.Field == "" && (e.Code == access.CodeForbidden || e.Code == access.CodeInvalid) {
			// A refusal that names no input is about where the record
			// would be created.
			fp.Errors = map[string]string{"owner": e.Message}
		}
		s.renderNew(w, r, c, v, t, owner, values, fp.Errors, render.TypeTitle(t)+" not created: "+fp.Error, status)
		return nil
	}
	s.afterWrite(w, r, v, t, res, "created")
	return nil
}

// afterWrite sends the browser, after a successful write, to the record's
// page with a confirmation, or to the list when the writer cannot read the
// record back.
func (s *Surface) afterWrite(w http.ResponseWriter, r *http.Request, v *view, t *policy.Type, res app.RecordWrite, done string) {
	to := v.accountURL() + url.PathEscape(t.Name)
	if res.Record != nil {
		to += "/" + url.PathEscape(res.Record.ID)
	}
	render.RedirectDone(w, r, to, done)
}

// handleEdit shows the edit form of a record the subject may update: 404
// for a record it cannot read, 403 for one it may only read. Values come
// from the subject's view, so a hidden value never reaches the page.
func (s *Surface) handleEdit(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := v.formType(r)
	if err != nil {
		return err
	}
	rec, writable, err := s.app.EditRecord(r.Context(), c, t.Name, r.PathValue("id"), v.asUser())
	if err != nil {
		return err
	}
	s.renderEdit(w, r, v, t, rec, writable, rec.Attributes, nil, "", http.StatusOK)
	return nil
}

// renderEdit renders the edit form with values and errors.
func (s *Surface) renderEdit(w http.ResponseWriter, r *http.Request, v *view, t *policy.Type, rec *access.Record, writable policy.FieldSet, values map[string]any, errs map[string]string, msg string, status int) {
	recURL := v.accountURL() + url.PathEscape(t.Name) + "/" + url.PathEscape(rec.ID)
	d := recordFormData{Type: t, Base: v.accountURL(), Action: recURL + "/edit", Cancel: recURL, Submit: "Save changes", Record: rec,
		ReadOnly: v.viewAs, Fields: recordInputs(t, v.subject, writable, values, true)}
	p := v.page("Edit "+strings.ToLower(render.TypeTitle(t))+" "+rec.ID, t.Name)
	p.Data, p.Errors, p.Error = d, errs, msg
	s.rd.Render(w, r, status, "portal_form", p)
}

// handleUpdate saves the edit form (app.PatchRecord, the API PATCH's
// rules) as a merge patch of the inputs that changed.
func (s *Surface) handleUpdate(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := v.formType(r)
	if err != nil {
		return err
	}
	rec, writable, err := s.app.EditRecord(r.Context(), c, t.Name, r.PathValue("id"), "")
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	ff := recordInputs(t, v.subject, writable, rec.Attributes, true)
	patch, errs := readRecordForm(t, r.PostForm, ff, rec.Attributes)
	values := overlay(rec.Attributes, submittedValues(r.PostForm, ff))
	if len(errs) > 0 {
		s.renderEdit(w, r, v, t, rec, writable, values, errs, "Please correct the marked fields.", http.StatusBadRequest)
		return nil
	}
	res := app.RecordWrite{Record: rec}
	if len(patch) > 0 {
		res, err = s.app.PatchRecord(r.Context(), c, t.Name, rec.ID, app.RecordUpdate{Attributes: app.Some(patch)})
		if err != nil {
			fp := &render.Page{}
			status, ierr := render.FormError(fp, err, inputsOf(ff))
			if ierr != nil {
				return ierr
			}
			s.renderEdit(w, r, v, t, rec, writable, values, fp.Errors, "Not saved: "+fp.Error, status)
			return nil
		}
	}
	s.afterWrite(w, r, v, t, res, "saved")
	return nil
}

// overlay returns the stored attributes with the submitted values on top,
// for a re-rendered edit form.
func overlay(stored, submitted map[string]any) map[string]any {
	out := make(map[string]any, len(stored)+len(submitted))
	for k, v := range stored {
		out[k] = v
	}
	for k, v := range submitted {
		out[k] = v
	}
	return out
}
