package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
				// A change between building the predicate and masking the
				// page (a revoke) can drop a row: the engine has the last word.
				s.log.Info("list row dropped by a concurrent access change", "user", subj.ID, "type", rec.Type, "id", rec.ID)
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
//
// A body of 10,000 items is megabytes of JSON, so the common shape is read
// in one pass (parseBatch) and its items are decoded and checked on every
// core; a body parseBatch does not take whole (malformed JSON, unknown or
// repeated keys, a field of the wrong shape) goes the general way
// (batchFields), which answers exactly as it always did.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaffWriter(c); err != nil {
		return err
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxBody {
		buf.Grow(int(r.ContentLength) + 1)
	}
	if _, err := buf.ReadFrom(r.Body); err != nil {
		return decodeError(err)
	}
	var b store.RecordBatch
	var err error
	if items, deletes, ok := parseBatch(buf.Bytes()); ok {
		b, err = s.batchItems(r.Context(), items, deletes)
	} else {
		r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
		b, err = s.batchFields(r)
	}
	if err != nil {
		return err
	}
	res, err := s.store.Batch(r.Context(), b)
	if err != nil {
		return err
	}
	setRevision(w, res.Revision)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// batchTooLarge is the error of a batch of more than store.MaxBatch items.
func batchTooLarge(n int) error {
	return access.Errorf(access.CodeInvalid, "a batch holds at most %d items, not %d", store.MaxBatch, n)
}

// batchInvalid is the error of a batch with bad items, sorted by index.
func batchInvalid(bad []access.ItemError) error {
	sort.Slice(bad, func(i, j int) bool { return bad[i].Index < bad[j].Index })
	return &access.Error{Code: access.CodeInvalid, Message: strconv.Itoa(len(bad)) + " item(s) are invalid; nothing was written", Items: bad}
}

// batchFields reads a batch body from r in general: each item as fields,
// merged with its stored record as PUT does. It reports every bad item.
func (s *Server) batchFields(r *http.Request) (store.RecordBatch, error) {
	var body batchBody
	if err := decode(r, &body); err != nil {
		return store.RecordBatch{}, err
	}
	if n := len(body.Upsert) + len(body.Delete); n > store.MaxBatch {
		return store.RecordBatch{}, batchTooLarge(n)
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
			return store.RecordBatch{}, err
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
		return store.RecordBatch{}, batchInvalid(bad)
	}
	b.Delete = body.Delete
	return b, nil
}

// batchItems is batchFields for the items parseBatch read: the same
// merge, fill and checks, spread over every core.
func (s *Server) batchItems(ctx context.Context, items []batchItem, deletes []access.Ref) (store.RecordBatch, error) {
	if n := len(items) + len(deletes); n > store.MaxBatch {
		return store.RecordBatch{}, batchTooLarge(n)
	}
	refs := make([]access.Ref, len(items))
	for i := range items {
		refs[i] = access.Ref{Type: items[i].typ, ID: items[i].id}
	}
	stored, err := s.batchStored(ctx, items, refs)
	if err != nil {
		return store.RecordBatch{}, err
	}
	recs := make([]*access.Record, len(items))
	errs := make([]error, len(items))
	parallel(len(items), func(i int) {
		rec := &access.Record{Type: refs[i].Type, ID: refs[i].ID}
		if old := stored[refs[i]]; old != nil {
			cp := *old
			rec = &cp
		}
		eo, ed := items[i].apply(rec)
		err := s.engine.FillRecord(rec, eo, ed)
		if err == nil {
			err = s.engine.ValidateRecord(rec)
		}
		recs[i], errs[i] = rec, err
	})
	var bad []access.ItemError
	for i, err := range errs {
		if err != nil {
			bad = append(bad, access.ItemError{Index: i, Message: errMessage(err)})
		}
	}
	if len(bad) > 0 {
		return store.RecordBatch{}, batchInvalid(bad)
	}
	return store.RecordBatch{Upsert: recs, Delete: deletes}, nil
}

// recordHeads is implemented by stores that can read records without
// their attributes (sqlstore.Store.GetRecordHeads).
type recordHeads interface {
	GetRecordHeads(ctx context.Context, refs []access.Ref) (access.RecordMap, error)
}

// batchStored returns the stored records the items merge with. An item
// that carries attributes replaces them, so for those items only the rest
// of the record is read when the store can (an import mostly creates, and
// then this is one index probe per item).
func (s *Server) batchStored(ctx context.Context, items []batchItem, refs []access.Ref) (access.RecordMap, error) {
	hs, ok := s.store.(recordHeads)
	if !ok {
		return s.store.GetRecords(ctx, refs)
	}
	var heads, full []access.Ref
	for i := range items {
		if items[i].has&hasAttributes != 0 {
			heads = append(heads, refs[i])
		} else {
			full = append(full, refs[i])
		}
	}
	out, err := hs.GetRecordHeads(ctx, heads)
	if err != nil || len(full) == 0 {
		return out, err
	}
	more, err := s.store.GetRecords(ctx, full)
	if err != nil {
		return nil, err
	}
	for ref, rec := range more {
		out[ref] = rec
	}
	return out, nil
}

// parallel calls fn(i) for i in [0, n) on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+63)/64)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// The fields an upsert item has (batchItem.has).
const (
	hasType = 1 << iota
	hasID
	hasOwner
	hasDate
	hasParent
	hasTeams
	hasCreator
	hasAttributes
)

// batchFieldBits are the bits of recordFields.
var batchFieldBits = map[string]uint16{"type": hasType, "id": hasID, "owner": hasOwner, "date": hasDate,
	"parent": hasParent, "teams": hasTeams, "creator": hasCreator, "attributes": hasAttributes}

// batchItem is an upsert item as parseBatch read it: the fields it has
// (has) and their values, null read as the zero value.
type batchItem struct {
	has                           uint16
	typ, id, owner, date, creator string
	parent                        *access.Ref
	teams                         []access.TeamEntry
	attributes                    map[string]any
	raw                           []byte // the item, until decoded
}

// apply sets the fields the item has on rec, as staffRecordBody does
// without merge, and reports whether owner and date are explicit.
func (it *batchItem) apply(rec *access.Record) (explicitOwner, explicitDate bool) {
	if it.has&hasParent != 0 {
		rec.Parent = it.parent
	}
	if it.has&hasTeams != 0 {
		rec.Teams = it.teams
	}
	if it.has&hasOwner != 0 {
		rec.Owner = it.owner
	}
	if it.has&hasDate != 0 {
		rec.Date = it.date
	}
	if it.has&hasCreator != 0 {
		rec.Creator = it.creator
	}
	if it.has&hasAttributes != 0 {
		rec.Attributes = it.attributes
	}
	if rec.Attributes == nil {
		rec.Attributes = map[string]any{}
	}
	return it.has&hasOwner != 0, it.has&hasDate != 0
}

// parseBatch reads a records:batch body of the common shape: one object
// with "upsert" (an array of objects whose keys are recordFields, each at
// most once and spelled exactly, string fields strings or null, and
// parent, teams and attributes of their types or null) and "delete", and
// nothing after it. It reports false for anything else, which
// batchFields then reads and answers in general. The structure is
// scanned here; every value is checked as encoding/json would (strings
// byte by byte, everything else by encoding/json itself), so a body
// parseBatch takes is valid JSON and reads as batchFields would read it.
func parseBatch(data []byte) (items []batchItem, deletes []access.Ref, ok bool) {
	sc := jscan{b: data}
	if !sc.next('{') {
		return nil, nil, false
	}
	var seen uint8
	if !sc.next('}') {
		for {
			key, ok := sc.key()
			if !ok {
				return nil, nil, false
			}
			switch {
			case string(key) == "upsert" && seen&1 == 0:
				seen |= 1
				if items, ok = sc.items(); !ok {
					return nil, nil, false
				}
			case string(key) == "delete" && seen&2 == 0:
				seen |= 2
				v, ok := sc.value()
				if !ok {
					return nil, nil, false
				}
				dec := json.NewDecoder(bytes.NewReader(v))
				dec.DisallowUnknownFields()
				if dec.Decode(&deletes) != nil || dec.InputOffset() != int64(len(v)) {
					return nil, nil, false
				}
			default:
				return nil, nil, false
			}
			if sc.next(',') {
				continue
			}
			if !sc.next('}') {
				return nil, nil, false
			}
			break
		}
	}
	if sc.skipSpace(); sc.i != len(data) {
		return nil, nil, false
	}
	// Decode the items on every core.
	var failed atomic.Bool
	parallel(len(items), func(i int) {
		if !failed.Load() && !items[i].decode() {
			failed.Store(true)
		}
	})
	if failed.Load() {
		return nil, nil, false
	}
	return items, deletes, true
}

// items reads the "upsert" array, keeping each item's bytes for decode.
func (sc *jscan) items() ([]batchItem, bool) {
	if !sc.next('[') {
		return nil, false
	}
	var items []batchItem
	if sc.next(']') {
		return items, true
	}
	items = make([]batchItem, 0, 1024)
	for {
		sc.skipSpace()
		if sc.i >= len(sc.b) || sc.b[sc.i] != '{' {
			return nil, false
		}
		v, ok := sc.value()
		if !ok {
			return nil, false
		}
		items = append(items, batchItem{raw: v})
		if sc.next(',') {
			continue
		}
		if sc.next(']') {
			return items, true
		}
		return nil, false
	}
}

// decode reads the item's fields from raw (an object's bytes as
// jscan.value found them), reporting false if the item is not of the
// common shape.
func (it *batchItem) decode() bool {
	sc := jscan{b: it.raw}
	it.raw = nil
	if !sc.next('{') {
		return false
	}
	if sc.next('}') {
		return sc.end()
	}
	for {
		key, ok := sc.key()
		if !ok {
			return false
		}
		bit := batchFieldBits[string(key)]
		if bit == 0 || it.has&bit != 0 {
			return false
		}
		it.has |= bit
		v, ok := sc.value()
		if !ok {
			return false
		}
		null := string(v) == "null"
		switch bit {
		case hasType:
			ok = jsonString(v, &it.typ)
		case hasID:
			ok = jsonString(v, &it.id)
		case hasOwner:
			ok = jsonString(v, &it.owner)
		case hasDate:
			ok = jsonString(v, &it.date)
		case hasCreator:
			ok = jsonString(v, &it.creator)
		case hasParent:
			ok = null || json.Unmarshal(v, &it.parent) == nil
		case hasTeams:
			ok = null || json.Unmarshal(v, &it.teams) == nil
		case hasAttributes:
			ok = null || json.Unmarshal(v, &it.attributes) == nil
		}
		if !ok {
			return false
		}
		if sc.next(',') {
			continue
		}
		if sc.next('}') {
			return sc.end()
		}
		return false
	}
}

// jsonString reads a JSON string or null (as "") into dst, as
// fields.str does, reporting false for any other value.
func jsonString(v []byte, dst *string) bool {
	if string(v) == "null" {
		*dst = ""
		return true
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	body := v[1 : len(v)-1]
	plain := true
	for _, c := range body {
		if c < 0x20 || c == '\\' || c == '"' || c >= utf8.RuneSelf {
			plain = false
			break
		}
	}
	if plain {
		*dst = string(body)
		return true
	}
	return json.Unmarshal(v, dst) == nil
}

// jscan scans the structure of a JSON document: whitespace, punctuation,
// plain object keys and the extent of values.
type jscan struct {
	b []byte
	i int
}

func (sc *jscan) skipSpace() {
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// next consumes c, after whitespace, if it comes next.
func (sc *jscan) next(c byte) bool {
	sc.skipSpace()
	if sc.i < len(sc.b) && sc.b[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// end reports whether only whitespace is left.
func (sc *jscan) end() bool {
	sc.skipSpace()
	return sc.i == len(sc.b)
}

// key reads an object key of printable ASCII without escapes and the
// colon after it.
func (sc *jscan) key() ([]byte, bool) {
	if !sc.next('"') {
		return nil, false
	}
	start := sc.i
	for sc.i < len(sc.b) {
		c := sc.b[sc.i]
		switch {
		case c == '"':
			key := sc.b[start:sc.i]
			sc.i++
			return key, sc.next(':')
		case c < 0x20 || c == '\\' || c >= utf8.RuneSelf:
			return nil, false
		}
		sc.i++
	}
	return nil, false
}

// value returns the bytes of the next value: a string through its closing
// quote, an object or array through its matching bracket (strings inside
// skipped), anything else up to the next delimiter. The bytes are not
// checked beyond that.
func (sc *jscan) value() ([]byte, bool) {
	sc.skipSpace()
	start := sc.i
	if sc.i >= len(sc.b) {
		return nil, false
	}
	switch sc.b[sc.i] {
	case '"':
		if !sc.skipString() {
			return nil, false
		}
	case '{', '[':
		depth := 0
		for sc.i < len(sc.b) {
			switch sc.b[sc.i] {
			case '"':
				if !sc.skipString() {
					return nil, false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			sc.i++
			if depth == 0 {
				return sc.b[start:sc.i], true
			}
		}
		return nil, false
	default:
		for sc.i < len(sc.b) {
			switch sc.b[sc.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return sc.b[start:sc.i], sc.i > start
			}
			sc.i++
		}
	}
	return sc.b[start:sc.i], sc.i > start
}

// skipString moves past the string that starts at sc.i.
func (sc *jscan) skipString() bool {
	sc.i++
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case '\\':
			sc.i += 2
			continue
		case '"':
			sc.i++
			return true
		}
		sc.i++
	}
	return false
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
