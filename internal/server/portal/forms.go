package portal

import (
	"math"
	"net/http"
	"net/url"
	"reflect"
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

// recordInput is one input of a record form, for one writable attribute
// of the policy type.
type recordInput struct {
	Name, Label string
	// Kind is select, number, date, bool, text or textarea (an attribute
	// the type does not declare: free text such as a description).
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
	// Lines is the editor of the type's writable array (order lines), nil
	// when it has none.
	Lines *lineEditor
	// Shown are the values the user cannot write, as text: the record's
	// other attributes on an edit, what the server sets on a new record.
	Shown []kv
	// ReadOnly is set for view as: the form is shown, disabled.
	ReadOnly bool
}

// formParts splits what w may write on t into the form's inputs and its
// line editor: a writable attribute ("title") is an input, the writable
// keys of an array's elements ("lines[].sku", "lines[].qty") are the
// columns of one line editor (the type's first such array). The owner_field
// is the account choice, not an input; deeper paths ("a.b") are not
// offered. current holds the values to show.
func formParts(t *policy.Type, u access.User, w access.Writer, current map[string]any, editing bool) ([]recordInput, *lineEditor) {
	var inputs []recordInput
	var le *lineEditor
	for _, p := range w.Writable(t) {
		seg := p.Segments
		switch {
		case len(seg) == 1 && seg[0].Name != t.OwnerField:
			if in, ok := recordInputFor(t, u, seg[0].Name, current, editing); ok {
				inputs = append(inputs, in)
			}
		case len(seg) == 2 && seg[0].Each && (le == nil || le.Name == seg[0].Name):
			if le == nil {
				le = &lineEditor{Name: seg[0].Name, Label: render.FieldLabel(seg[0].Name)}
			}
			le.Keys = append(le.Keys, lineKey{Name: seg[1].Name, Label: render.FieldLabel(seg[1].Name), Number: numericKey(seg[1].Name)})
		}
	}
	return inputs, le
}

// recordInputFor builds the input of attribute name; false when its
// current value is an object or an array, which a form cannot edit.
func recordInputFor(t *policy.Type, u access.User, name string, current map[string]any, editing bool) (recordInput, bool) {
	f, declared := t.Fields[name]
	if !declared {
		f = policy.Field{Name: name, Type: policy.FieldString}
	}
	ff := recordInput{Name: name, Label: render.FieldLabel(name), Kind: "text"}
	if v, ok := current[name]; ok {
		s, ok := recordInputValue(f, v)
		if !ok {
			return ff, false
		}
		ff.Value = s
	}
	allowed, constrained := u.Constraints[t.Name][name]
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
			if !declared {
				ff.Kind = "textarea"
			}
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
	return ff, true
}

// shownValues are the attributes of a record the form does not offer, for
// the form to show as text (hidden ones are not in the view at all).
func shownValues(t *policy.Type, attrs map[string]any, inputs []recordInput, le *lineEditor) []kv {
	skip := map[string]bool{}
	for _, in := range inputs {
		skip[in.Name] = true
	}
	if le != nil {
		skip[le.Name] = true
	}
	var out []kv
	for _, k := range render.SortedKeys(t, attrs) {
		if !skip[k] {
			out = append(out, kv{k, attrs[k]})
		}
	}
	return out
}

// serverValues are what the server sets on an external create, shown on
// the new-record form (records.md §1): the number, the date, the defaults.
func serverValues(t *policy.Type, today string) []kv {
	var out []kv
	if t.NumberField != "" {
		out = append(out, kv{t.NumberField, t.NumberPrefix + "… (assigned when created)"})
	}
	if t.DateField != "" {
		out = append(out, kv{t.DateField, today})
	}
	for _, k := range render.SortedKeys(t, t.Defaults) {
		out = append(out, kv{k, t.Defaults[k]})
	}
	return out
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
// form's inputs and line editor, whose errors the template shows by the
// same name.
func inputsOf(ff []recordInput, le *lineEditor) map[string]string {
	out := make(map[string]string, len(ff)+2)
	for _, in := range ff {
		out[in.Name] = in.Name
	}
	if le != nil {
		out[le.Name] = le.Name
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

// formInput is what the user has entered in a record form so far.
type formInput struct {
	values map[string]any // the inputs' values
	rows   [][]string     // the line editor's rows
	query  string         // the inventory search
}

// createWriter is what the new-record form offers under owner: what the
// subject may write there, else under the current account, else nothing.
func (s *Surface) createWriter(c *app.Actor, v *view, t *policy.Type, owner string) access.Writer {
	w, err := s.app.CreateFields(c, t.Name, owner, v.asUser())
	if err != nil {
		w, _ = s.app.CreateFields(c, t.Name, v.current.ID, v.asUser())
	}
	return w
}

// fillLines sets the line editor's rows and search results.
func (s *Surface) fillLines(r *http.Request, c *app.Actor, v *view, le *lineEditor, in formInput) error {
	if le == nil {
		return nil
	}
	le.Picker = v.pickerFor(le)
	items := map[string]string{}
	if le.Picker {
		var err error
		if items, err = s.inventory(r.Context(), c, v, le.skus(in.rows)); err != nil {
			return err
		}
	}
	le.setRows(in.rows, items)
	return s.search(r.Context(), c, v, le, in.query)
}

// lineOp applies a button of the line editor (op "search", "add:<sku>",
// "remove:<row>") to in, and reports whether op was one: then the form is
// shown again, not written. An added SKU must be one of the inventory the
// subject sees (else the message is in errs).
func (s *Surface) lineOp(r *http.Request, c *app.Actor, v *view, le *lineEditor, op string, in *formInput, errs map[string]string) (bool, error) {
	if le == nil {
		return false, nil
	}
	switch {
	case op == "search":
	case strings.HasPrefix(op, "add:"):
		le.Picker = v.pickerFor(le)
		sku := strings.TrimPrefix(op, "add:")
		if !le.Picker {
			in.rows = append(in.rows, le.newRow(sku)) // a row to fill in
			return true, nil
		}
		items, err := s.inventory(r.Context(), c, v, []string{sku})
		if err != nil {
			return true, err
		}
		if _, ok := items[sku]; !ok {
			errs[le.Name] = s.rd.T(r, &c.User, "There is no item {{.SKU}} in this account's inventory.", "SKU", sku)
			return true, nil
		}
		in.rows = append(in.rows, le.newRow(sku))
	case strings.HasPrefix(op, "remove:"):
		if i, err := strconv.Atoi(strings.TrimPrefix(op, "remove:")); err == nil && i >= 0 && i < len(in.rows) {
			in.rows = slices.Delete(in.rows, i, i+1)
		}
	default:
		return false, nil
	}
	return true, nil
}

// readLines turns the editor's rows into the array to write; base holds
// the elements the user sees (an edit). With a picker every SKU must be
// one of the inventory the subject sees.
func (s *Surface) readLines(r *http.Request, c *app.Actor, v *view, le *lineEditor, rows [][]string, base []any, errs map[string]string) ([]any, error) {
	lines, msg, line := le.value(rows, base)
	if msg != "" {
		errs[le.Name] = s.rd.T(r, &c.User, msg, "Line", line)
		return nil, nil
	}
	if le.Picker = v.pickerFor(le); le.Picker {
		items, err := s.inventory(r.Context(), c, v, le.skus(rows))
		if err != nil {
			return nil, err
		}
		for _, sku := range le.skus(rows) {
			if _, ok := items[sku]; !ok {
				errs[le.Name] = s.rd.T(r, &c.User, "There is no item {{.SKU}} in this account's inventory.", "SKU", sku)
			}
		}
	}
	return lines, nil
}

// handleNew shows the "new record" form (new ticket, new order) for a type
// the current account allows creating, with the inventory search of ?q=
// for an order's lines.
func (s *Surface) handleNew(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	t, err := v.createType(r)
	if err != nil {
		return err
	}
	return s.renderNew(w, r, c, v, t, v.current.ID, formInput{query: r.URL.Query().Get("q")}, nil, "", http.StatusOK)
}

// renderNew renders the new-record form with values and errors.
func (s *Surface) renderNew(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, t *policy.Type, owner string, in formInput, errs map[string]string, msg string, status int) error {
	inputs, le := formParts(t, v.subject, s.createWriter(c, v, t, owner), in.values, false)
	d := recordFormData{Type: t, Base: v.accountURL(), Action: v.accountURL() + url.PathEscape(t.Name) + "/new",
		Cancel: v.accountURL() + url.PathEscape(t.Name), Submit: s.typeText(r, c, "Create {{.Type}}", t), ReadOnly: v.viewAs,
		Fields: inputs, Lines: le, Shown: serverValues(t, s.app.Now().UTC().Format(time.DateOnly))}
	if accts := v.createChoices(t, owner); len(accts) > 1 {
		d.Accounts = accts
	}
	if err := s.fillLines(r, c, v, le, in); err != nil {
		return err
	}
	p := v.page(s.typeText(r, c, "New {{.Type}}", t), t.Name)
	p.Data, p.Errors, p.Error = d, errs, msg
	s.rd.Render(w, r, status, "portal_form", p)
	return nil
}

// handleCreate creates a record from the form (app.CreateRecord, the API's
// create rules); on error the form comes back with the message next to the
// input at fault, on success the browser goes to the new record with a
// "created" message. The line editor's buttons show the form again.
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
	ff, le := formParts(t, v.subject, writable, nil, false)
	in := formInput{values: submittedValues(r.PostForm, ff), query: r.PostForm.Get("q")}
	if le != nil {
		in.rows = le.readRows(r.PostForm)
	}
	errs := map[string]string{}
	if shown, err := s.lineOp(r, c, v, le, r.PostForm.Get("op"), &in, errs); err != nil || shown {
		if err != nil {
			return err
		}
		return s.renderNew(w, r, c, v, t, owner, in, errs, "", http.StatusOK)
	}
	attrs, errs := readRecordForm(t, r.PostForm, ff, nil)
	if le != nil && len(in.rows) > 0 {
		lines, err := s.readLines(r, c, v, le, in.rows, nil, errs)
		if err != nil {
			return err
		}
		attrs[le.Name] = lines
	}
	if len(errs) > 0 {
		return s.renderNew(w, r, c, v, t, owner, in, errs, "Please correct the marked fields.", http.StatusBadRequest)
	}
	res, err := s.app.CreateRecord(r.Context(), c, t.Name, app.RecordCreate{Owner: app.Some(owner), Attributes: attrs})
	if err != nil {
		fp := &render.Page{}
		inputs := inputsOf(ff, le)
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
		return s.renderNew(w, r, c, v, t, owner, in, fp.Errors, render.TypeTitle(t)+" not created: "+fp.Error, status)
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
	if err := s.inAccount(r, c, v, t.Name, r.PathValue("id")); err != nil {
		return err
	}
	rec, writable, err := s.app.EditRecord(r.Context(), c, t.Name, r.PathValue("id"), v.asUser())
	if err != nil {
		return err
	}
	in := formInput{values: rec.Attributes, query: r.URL.Query().Get("q")}
	if _, le := formParts(t, v.subject, writable, nil, true); le != nil {
		in.rows = le.rowsOf(rec.Attributes[le.Name])
	}
	return s.renderEdit(w, r, c, v, t, rec, writable, in, nil, "", http.StatusOK)
}

// renderEdit renders the edit form with values and errors: the inputs of
// what the subject may write, everything else of the record as text.
func (s *Surface) renderEdit(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, t *policy.Type, rec *access.Record, writable access.Writer, in formInput, errs map[string]string, msg string, status int) error {
	recURL := v.accountURL() + url.PathEscape(t.Name) + "/" + url.PathEscape(rec.ID)
	inputs, le := formParts(t, v.subject, writable, in.values, true)
	d := recordFormData{Type: t, Base: v.accountURL(), Action: recURL + "/edit", Cancel: recURL, Submit: s.rd.T(r, &c.User, "Save changes"), Record: rec,
		ReadOnly: v.viewAs, Fields: inputs, Lines: le, Shown: shownValues(t, rec.Attributes, inputs, le)}
	if err := s.fillLines(r, c, v, le, in); err != nil {
		return err
	}
	p := v.page(s.rd.T(r, &c.User, "Edit {{.Type}} {{.ID}}", "Type", s.typeName(r, c, t), "ID", rec.ID), t.Name)
	p.Data, p.Errors, p.Error = d, errs, msg
	s.rd.Render(w, r, status, "portal_form", p)
	return nil
}

// handleUpdate saves the edit form (app.PatchRecord, the API PATCH's
// rules) as a merge patch of the inputs that changed; the line editor's
// array is sent when it changed (the form marks that it carries the
// editor, so a request without it leaves the array alone).
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
	ff, le := formParts(t, v.subject, writable, rec.Attributes, true)
	in := formInput{values: overlay(rec.Attributes, submittedValues(r.PostForm, ff)), query: r.PostForm.Get("q")}
	withLines := le != nil && r.PostForm.Get("editor") == le.Name
	if withLines {
		in.rows = le.readRows(r.PostForm)
	} else if le != nil {
		in.rows = le.rowsOf(rec.Attributes[le.Name])
	}
	errs := map[string]string{}
	if shown, err := s.lineOp(r, c, v, le, r.PostForm.Get("op"), &in, errs); err != nil || shown {
		if err != nil {
			return err
		}
		return s.renderEdit(w, r, c, v, t, rec, writable, in, errs, "", http.StatusOK)
	}
	patch, errs := readRecordForm(t, r.PostForm, ff, rec.Attributes)
	if withLines {
		base, _ := rec.Attributes[le.Name].([]any)
		lines, err := s.readLines(r, c, v, le, in.rows, base, errs)
		if err != nil {
			return err
		}
		if _, bad := errs[le.Name]; !bad && !reflect.DeepEqual(lines, base) && (len(lines) > 0 || len(base) > 0) {
			patch[le.Name] = lines
		}
	}
	if len(errs) > 0 {
		return s.renderEdit(w, r, c, v, t, rec, writable, in, errs, "Please correct the marked fields.", http.StatusBadRequest)
	}
	res := app.RecordWrite{Record: rec}
	if len(patch) > 0 {
		res, err = s.app.PatchRecord(r.Context(), c, t.Name, rec.ID, app.RecordUpdate{Attributes: app.Some(patch)})
		if err != nil {
			fp := &render.Page{}
			status, ierr := render.FormError(fp, err, inputsOf(ff, le))
			if ierr != nil {
				return ierr
			}
			return s.renderEdit(w, r, c, v, t, rec, writable, in, fp.Errors, s.rd.T(r, &c.User, "Not saved: {{.Reason}}", "Reason", s.rd.T(r, &c.User, fp.Error)), status)
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

// typeText translates id with the title of t in the page's locale as
// {{.Type}}.
func (s *Surface) typeText(r *http.Request, c *app.Actor, id string, t *policy.Type) string {
	return s.rd.T(r, &c.User, id, "Type", s.typeName(r, c, t))
}

// typeName is t's title in the page's locale, in lower case in English
// ("New sales order"), as written in German and Chinese.
func (s *Surface) typeName(r *http.Request, c *app.Actor, t *policy.Type) string {
	l := s.rd.Locale(nil, r, &c.User)
	if l == "en" {
		return strings.ToLower(t.TitleIn(l))
	}
	return t.TitleIn(l)
}
