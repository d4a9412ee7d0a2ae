package server

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The same /records paths serve staff (every record, every field) and
// external users (visible records only, hidden fields stripped before
// encoding). A record an external user cannot read is 404 whatever the
// method; one it can read but not change is 403 (DESIGN.md §2).

// recordOut is the JSON form of a record.
type recordOut struct {
	Type       string              `json:"type"`
	ID         string              `json:"id"`
	Owner      *string             `json:"owner"`
	Date       *string             `json:"date"`
	Parent     *access.Ref         `json:"parent"`
	Teams      *[]access.TeamEntry `json:"teams,omitempty"` // staff only
	Creator    *string             `json:"creator"`
	Attributes map[string]any      `json:"attributes"`
	UpdatedAt  time.Time           `json:"updated_at"`
	Revision   int64               `json:"revision"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// toOut renders a record; staff see teams (an empty list when none).
func toOut(r *access.Record, staff bool) recordOut {
	out := recordOut{Type: r.Type, ID: r.ID, Owner: nullable(r.Owner), Date: nullable(r.Date), Parent: r.Parent,
		Creator: nullable(r.Creator), Attributes: r.Attributes, UpdatedAt: r.UpdatedAt, Revision: r.Revision}
	if out.Attributes == nil {
		out.Attributes = map[string]any{}
	}
	if staff {
		teams := r.Teams
		if teams == nil {
			teams = []access.TeamEntry{}
		}
		out.Teams = &teams
	}
	return out
}

// recordType resolves the {type} path value.
func (s *Server) recordType(r *http.Request) (*policy.Type, error) {
	t := s.engine.Policy().Type(r.PathValue("type"))
	if t == nil {
		return nil, access.Errorf(access.CodeNotFound, "unknown object type %s", r.PathValue("type"))
	}
	return t, nil
}

// subject is whose view a read takes: the caller, or for staff and
// integration tokens the user named by as_user.
func (s *Server) subject(r *http.Request, c *caller) (access.User, error) {
	as := r.URL.Query().Get("as_user")
	if as == "" {
		return c.user, nil
	}
	if !c.internal() {
		return access.User{}, access.Errorf(access.CodeForbidden, "as_user is for staff and integrations")
	}
	u, ok := s.engine.User(as)
	if !ok {
		return access.User{}, access.Errorf(access.CodeInvalid, "as_user %s does not exist", as)
	}
	return u, nil
}

// source loads the parents (up to the sharing hop limit) of recs, so the
// engine can follow sharing rules.
func (s *Server) source(ctx context.Context, recs ...*access.Record) (access.RecordMap, error) {
	src := access.RecordMap{}
	for _, r := range recs {
		src[access.Ref{Type: r.Type, ID: r.ID}] = r
	}
	level := recs
	for hop := 0; hop < access.MaxSharingHops && len(level) > 0; hop++ {
		var refs []access.Ref
		for _, r := range level {
			if r.Parent != nil {
				if _, ok := src[*r.Parent]; !ok {
					refs = append(refs, *r.Parent)
				}
			}
		}
		if len(refs) == 0 {
			break
		}
		got, err := s.store.GetRecords(ctx, refs)
		if err != nil {
			return nil, err
		}
		level = level[:0:0]
		for ref, r := range got {
			src[ref] = r
			level = append(level, r)
		}
	}
	return src, nil
}

func (s *Server) handleListRecords(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	subj, err := s.subject(r, c)
	if err != nil {
		return err
	}
	q, err := s.recordQuery(r, t, subj)
	if err != nil {
		return err
	}
	start := time.Now()
	recs, next, err := s.store.ListRecords(r.Context(), q)
	s.metrics.listTime.Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	staff := subj.Kind == access.KindInternal
	items := make([]recordOut, 0, len(recs))
	if staff {
		for _, rec := range recs {
			items = append(items, toOut(rec, true))
		}
	} else {
		src, err := s.source(r.Context(), recs...)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			v, ok := s.engine.View(subj.ID, rec, src)
			if !ok {
				s.log.Error("list returned a record the engine denies", "user", subj.ID, "type", rec.Type, "id", rec.ID)
				continue
			}
			items = append(items, toOut(v, false))
		}
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

// recordQuery validates the list parameters of DESIGN.md §5.9. A filter or
// sort on a hidden, undeclared or unknown field is the same invalid_field
// error, decided before any SQL is built.
func (s *Server) recordQuery(r *http.Request, t *policy.Type, subj access.User) (store.RecordQuery, error) {
	limit, cursor, err := listParams(r)
	if err != nil {
		return store.RecordQuery{}, err
	}
	params := r.URL.Query()
	staff := subj.Kind == access.KindInternal
	q := store.RecordQuery{Type: t.Name, Limit: limit, Cursor: cursor, Sort: "-date"}
	q.Predicate, err = s.engine.Predicate(subj.ID, t.Name, policy.Read)
	if err != nil {
		return q, err
	}
	filterable := s.engine.FilterableFields(subj.ID, t.Name)
	field := func(name string) (policy.Field, error) {
		f, declared := t.Fields[name]
		if i := t.RestrictedIndex(name); !declared || (i >= 0 && !filterable.Has(i)) {
			return f, access.Errorf(access.CodeInvalidField, "field %s cannot be used to filter or sort", name)
		}
		return f, nil
	}
	for key, vals := range params {
		switch {
		case key == "limit" || key == "cursor" || key == "as_user" || key == "min_revision":
		case key == "account":
			q.Accounts = s.engine.Subtree(params.Get("account"))
			if q.Accounts == nil {
				q.Accounts = []string{}
			}
		case key == "date_from" || key == "date_to":
			d := vals[0]
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				return q, access.Errorf(access.CodeInvalid, "%s must be YYYY-MM-DD", key)
			}
			if key == "date_from" {
				q.DateFrom = d
			} else {
				q.DateTo = d
			}
		case key == "updated_since":
			if !staff {
				return q, access.Errorf(access.CodeInvalid, "updated_since is for staff")
			}
			ts, err := time.Parse(time.RFC3339Nano, vals[0])
			if err != nil {
				return q, access.Errorf(access.CodeInvalid, "updated_since must be an RFC 3339 time")
			}
			q.UpdatedSince = &ts
		case key == "sort":
			q.Sort = vals[0]
			switch name := strings.TrimPrefix(strings.TrimPrefix(q.Sort, "-"), "attr."); {
			case q.Sort == "date" || q.Sort == "-date" || q.Sort == "id" || q.Sort == "-id":
			case q.Sort == "updated_at" && staff:
			case strings.HasPrefix(strings.TrimPrefix(q.Sort, "-"), "attr."):
				if _, err := field(name); err != nil {
					return q, err
				}
			default:
				return q, access.Errorf(access.CodeInvalid, "sort must be date, -date, id, -id, attr.<name> or -attr.<name>")
			}
		case strings.HasPrefix(key, "attr."):
			name := strings.TrimPrefix(key, "attr.")
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
		default:
			return q, access.Errorf(access.CodeInvalid, "unknown parameter %s", key)
		}
	}
	return q, nil
}

// parseFieldValue parses a filter value by the field's declared type.
func parseFieldValue(f policy.Field, v string) (any, error) {
	switch f.Type {
	case policy.FieldNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, access.Errorf(access.CodeInvalid, "attr.%s must be a number", f.Name)
		}
		return n, nil
	case policy.FieldBool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, access.Errorf(access.CodeInvalid, "attr.%s must be true or false", f.Name)
		}
		return b, nil
	case policy.FieldDate:
		if _, err := access.Day(v); err != nil {
			return nil, access.Errorf(access.CodeInvalid, "attr.%s must be a date", f.Name)
		}
	}
	return v, nil
}

// readable loads a record as the subject may see it: 404 when it does not
// exist or the subject cannot read it.
func (s *Server) readable(ctx context.Context, subj access.User, typ, id string) (*access.Record, *access.Record, access.RecordMap, error) {
	rec, err := s.store.GetRecord(ctx, typ, id)
	if err != nil {
		return nil, nil, nil, err
	}
	src, err := s.source(ctx, rec)
	if err != nil {
		return nil, nil, nil, err
	}
	v, ok := s.engine.View(subj.ID, rec, src)
	if !ok {
		return nil, nil, nil, access.Errorf(access.CodeNotFound, "%s %s not found", typ, id)
	}
	return rec, v, src, nil
}

func (s *Server) handleGetRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	subj, err := s.subject(r, c)
	if err != nil {
		return err
	}
	_, v, _, err := s.readable(r.Context(), subj, t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toOut(v, subj.Kind == access.KindInternal))
	return nil
}

var recordFields = []string{"type", "id", "owner", "date", "parent", "teams", "creator", "attributes"}

// staffRecordBody applies a staff PUT/PATCH/POST body to rec. merge says
// whether attributes merge (PATCH) or replace (PUT).
func (s *Server) staffRecordBody(f fields, rec *access.Record, merge bool) (explicitOwner, explicitDate bool, err error) {
	var typ, id string
	if err := first(f.str("type", &typ), f.str("id", &id)); err != nil {
		return false, false, err
	}
	if (typ != "" && typ != rec.Type) || (id != "" && rec.ID != "" && id != rec.ID) {
		return false, false, access.Errorf(access.CodeInvalid, "body type and id must match the path")
	}
	if f.has("parent") {
		rec.Parent = nil
		if err := f.into("parent", &rec.Parent); err != nil {
			return false, false, err
		}
	}
	if f.has("teams") {
		rec.Teams = nil
		if err := f.into("teams", &rec.Teams); err != nil {
			return false, false, err
		}
	}
	if err := first(f.str("owner", &rec.Owner), f.str("date", &rec.Date), f.str("creator", &rec.Creator)); err != nil {
		return false, false, err
	}
	if f.has("attributes") {
		var attrs map[string]any
		if err := f.into("attributes", &attrs); err != nil {
			return false, false, err
		}
		if merge {
			rec.Attributes = mergePatch(rec.Attributes, attrs)
		} else {
			rec.Attributes = attrs
		}
	}
	if rec.Attributes == nil {
		rec.Attributes = map[string]any{}
	}
	return f.has("owner"), f.has("date"), nil
}

// mergePatch applies an RFC 7396 JSON Merge Patch: null deletes a key,
// objects merge recursively, anything else replaces.
func mergePatch(target, patch map[string]any) map[string]any {
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
			out[k] = mergePatch(tv, pv)
		default:
			out[k] = v
		}
	}
	return out
}

// writeRecord fills, validates and stores a record, then answers with it.
func (s *Server) writeRecord(w http.ResponseWriter, r *http.Request, rec *access.Record, explicitOwner, explicitDate bool, status int, staff bool, viewer string) error {
	created, rev, err := s.putRecord(r.Context(), rec, explicitOwner, explicitDate)
	if err != nil {
		return err
	}
	return s.answerRecord(w, r, rec, created, rev, status, staff, viewer)
}

// putRecord fills, validates and stores a record: every record write of
// the API and the portal ends here.
func (s *Server) putRecord(ctx context.Context, rec *access.Record, explicitOwner, explicitDate bool) (created bool, rev int64, err error) {
	if err := s.engine.FillRecord(rec, explicitOwner, explicitDate); err != nil {
		return false, 0, err
	}
	if err := s.engine.ValidateRecord(rec); err != nil {
		return false, 0, err
	}
	return s.store.PutRecord(ctx, rec)
}

// answerRecord answers a record write with the stored record as the
// writer sees it.
func (s *Server) answerRecord(w http.ResponseWriter, r *http.Request, rec *access.Record, created bool, rev int64, status int, staff bool, viewer string) error {
	setRevision(w, rev)
	if status == 0 {
		status = http.StatusOK
		if created {
			status = http.StatusCreated
		}
	}
	got, err := s.store.GetRecord(r.Context(), rec.Type, rec.ID)
	if err != nil {
		return err
	}
	if !staff {
		src, err := s.source(r.Context(), got)
		if err != nil {
			return err
		}
		v, ok := s.engine.View(viewer, got, src)
		if !ok {
			// Written, but the writer cannot read it back (e.g. its
			// own-scope role and a changed creator): answer without it.
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		got = v
	}
	writeJSON(w, status, toOut(got, staff))
	return nil
}

// handlePutRecord is the ERP's upsert: staff and integration tokens only.
func (s *Server) handlePutRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := checkID("record", id); err != nil {
		return err
	}
	f, err := readFields(r, recordFields...)
	if err != nil {
		return err
	}
	rec, err := s.store.GetRecord(r.Context(), t.Name, id)
	switch {
	case access.ErrorCode(err) == access.CodeNotFound:
		rec = &access.Record{Type: t.Name, ID: id}
	case err != nil:
		return err
	}
	eo, ed, err := s.staffRecordBody(f, rec, false)
	if err != nil {
		return err
	}
	return s.writeRecord(w, r, rec, eo, ed, 0, true, "")
}

// handlePatchRecord merges attributes; staff may also replace teams,
// parent, owner and date. External users change attributes only, subject
// to the write rules, hidden fields and constraints.
func (s *Server) handlePatchRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if c.internal() {
		if err := requireStaffWriter(c); err != nil {
			return err
		}
		f, err := readFields(r, recordFields...)
		if err != nil {
			return err
		}
		rec, err := s.store.GetRecord(r.Context(), t.Name, id)
		if err != nil {
			return err
		}
		eo, ed, err := s.staffRecordBody(f, rec, true)
		if err != nil {
			return err
		}
		return s.writeRecord(w, r, rec, eo, ed, http.StatusOK, true, "")
	}
	rec, _, writable, err := s.editableAsUser(r.Context(), c.user, t, id)
	if err != nil {
		return err
	}
	f, err := readFields(r, recordFields...)
	if err != nil {
		return err
	}
	for _, k := range []string{"owner", "date", "parent", "teams", "creator"} {
		if f.has(k) {
			return access.Errorf(access.CodeForbidden, "only staff may change %s", k)
		}
	}
	var patch map[string]any
	if err := f.into("attributes", &patch); err != nil {
		return err
	}
	created, rev, err := s.patchAsUser(r.Context(), c.user, t, rec, writable, patch)
	if err != nil {
		return err
	}
	return s.answerRecord(w, r, rec, created, rev, http.StatusOK, false, c.user.ID)
}

type createRecordBody struct {
	ID         string             `json:"id"`
	Owner      string             `json:"owner"`
	Date       string             `json:"date"`
	Parent     *access.Ref        `json:"parent"`
	Teams      []access.TeamEntry `json:"teams"`
	Attributes map[string]any     `json:"attributes"`
}

// handleCreateRecord creates a record as the caller (the portal's "new
// ticket"): the server assigns the id and sets the creator. An external
// user names the account to create under in "owner" (optional when it can
// create under exactly one).
func (s *Server) handleCreateRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	var body createRecordBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Attributes == nil {
		body.Attributes = map[string]any{}
	}
	rec := &access.Record{Type: t.Name, ID: newRecordID(), Owner: body.Owner, Date: body.Date, Creator: c.user.ID,
		Attributes: body.Attributes}
	if c.internal() {
		if err := requireStaffWriter(c); err != nil {
			return err
		}
		if body.ID != "" {
			if err := checkID("record", body.ID); err != nil {
				return err
			}
			if _, err := s.store.GetRecord(r.Context(), t.Name, body.ID); err == nil {
				return access.Errorf(access.CodeConflict, "%s %s already exists", t.Name, body.ID)
			}
			rec.ID = body.ID
		}
		rec.Parent, rec.Teams = body.Parent, body.Teams
		return s.writeRecord(w, r, rec, body.Owner != "", body.Date != "", http.StatusCreated, true, "")
	}
	if body.ID != "" || body.Parent != nil || body.Teams != nil || body.Date != "" {
		return access.Errorf(access.CodeForbidden, "only staff may set id, date, parent or teams")
	}
	rec, created, rev, err := s.createAsUser(r.Context(), c.user, t, body.Owner, body.Attributes)
	if err != nil {
		return err
	}
	return s.answerRecord(w, r, rec, created, rev, http.StatusCreated, false, c.user.ID)
}

func (s *Server) handleDeleteRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if !c.internal() {
		if _, _, _, err := s.readable(r.Context(), c.user, t.Name, id); err != nil {
			return err
		}
		return access.Errorf(access.CodeForbidden, "only staff delete records")
	}
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	rev, err := s.store.DeleteRecord(r.Context(), t.Name, id)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type batchBody struct {
	Upsert []json.RawMessage `json:"upsert"`
	Delete []access.Ref      `json:"delete"`
}

// handleBatch is the ERP's bulk sync: up to 10,000 upserts and deletes, all
// or nothing; every bad item is reported by index. An upsert item follows
// PUT's rules: a field it omits keeps the stored value.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	var body batchBody
	if err := decode(r, &body); err != nil {
		return err
	}
	if n := len(body.Upsert) + len(body.Delete); n > store.MaxBatch {
		return access.Errorf(access.CodeInvalid, "a batch holds at most %d items, not %d", store.MaxBatch, n)
	}
	items := make([]fields, len(body.Upsert))
	refs := make([]access.Ref, len(body.Upsert))
	var bad []access.ItemError
	for i, raw := range body.Upsert {
		f, err := parseFields(raw, recordFields...)
		if err == nil {
			err = first(f.str("type", &refs[i].Type), f.str("id", &refs[i].ID))
		}
		if err != nil {
			bad = append(bad, access.ItemError{Index: i, Message: errMessage(err)})
		}
		items[i] = f
	}
	stored := access.RecordMap{}
	if len(bad) == 0 {
		var err error
		if stored, err = s.store.GetRecords(r.Context(), refs); err != nil {
			return err
		}
	}
	var b store.RecordBatch
	failed := len(bad) > 0
	for i, f := range items {
		if failed && (f == nil || refs[i].Type == "") {
			continue // already reported
		}
		rec := &access.Record{Type: refs[i].Type, ID: refs[i].ID}
		if old := stored[refs[i]]; old != nil {
			cp := *old
			rec = &cp
		}
		eo, ed, err := s.staffRecordBody(f, rec, false)
		if err == nil {
			err = s.engine.FillRecord(rec, eo, ed)
		}
		if err == nil {
			err = s.engine.ValidateRecord(rec)
		}
		if err != nil {
			bad = append(bad, access.ItemError{Index: i, Message: errMessage(err)})
			continue
		}
		b.Upsert = append(b.Upsert, rec)
	}
	if len(bad) > 0 {
		sort.Slice(bad, func(i, j int) bool { return bad[i].Index < bad[j].Index })
		return &access.Error{Code: access.CodeInvalid, Message: strconv.Itoa(len(bad)) + " item(s) are invalid; nothing was written", Items: bad}
	}
	b.Delete = body.Delete
	res, err := s.store.Batch(r.Context(), b)
	if err != nil {
		return err
	}
	setRevision(w, res.Revision)
	writeJSON(w, http.StatusOK, res)
	return nil
}

func errMessage(err error) string {
	if e, ok := err.(*access.Error); ok {
		return e.Message
	}
	return "invalid item"
}

// newRecordID returns a server-assigned record id.
func newRecordID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "r" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
