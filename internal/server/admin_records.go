package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// The records browser: staff see every record and every field. The list
// takes the API's filters (account subtree, date range, attr.<field>, sort)
// through the same recordQuery, so the same validation and the same
// indexed, cursor-paged query serve both.

type admColumn struct {
	Name, Label string
	Numeric     bool
	Restricted  bool
}

type admRecordsData struct {
	adminBase
	Types       []*policy.Type
	Type        *policy.Type
	Query       url.Values
	Columns     []admColumn
	Items       []*access.Record
	Next, First string
	Sort        string
	SortLinks   map[string]string
	Statuses    []string
	HasStatus   bool
}

// admRecordsPage is the browser's page size.
const admRecordsPage = 50

func (s *Server) handleAdminRecords(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	pol := s.engine.Policy()
	q := r.URL.Query()
	t := pol.Type(q.Get("type"))
	if t == nil {
		if q.Get("type") != "" {
			return access.Errorf(access.CodeNotFound, "unknown object type %s", q.Get("type"))
		}
		if len(pol.Types()) == 0 {
			return access.Errorf(access.CodeNotFound, "the policy declares no object types")
		}
		t = pol.Types()[0]
	}
	params := url.Values{}
	for k, v := range q {
		if k == "type" || k == "done" || (len(v) == 1 && v[0] == "") {
			continue // empty form fields mean "no filter"
		}
		params[k] = v
	}
	d := admRecordsData{adminBase: admBaseOf(c), Types: pol.Types(), Type: t, Query: params, SortLinks: map[string]string{}}
	if f, ok := t.Fields["status"]; ok {
		d.HasStatus, d.Statuses = true, f.Values
	}
	for _, f := range t.FieldList {
		d.Columns = append(d.Columns, admColumn{Name: f.Name, Label: strings.ReplaceAll(f.Name, "_", " "),
			Numeric: f.Type == policy.FieldNumber, Restricted: t.RestrictedIndex(f.Name) >= 0})
	}
	p := s.admPage(r, c, typeTitle(t), "records")
	qr := *r
	qr.URL = &url.URL{Path: r.URL.Path, RawQuery: params.Encode()}
	query, err := s.recordQuery(&qr, t, c.user)
	status := http.StatusOK
	if err == nil {
		if !params.Has("limit") {
			query.Limit = admRecordsPage
		}
		d.Sort = query.Sort
		var next string
		d.Items, next, err = s.store.ListRecords(r.Context(), query)
		listURL := "/admin/records?"
		if next != "" {
			nq := cloneValues(params)
			nq.Set("type", t.Name)
			nq.Set("cursor", next)
			d.Next = listURL + nq.Encode()
		}
		if params.Has("cursor") {
			fq := cloneValues(params)
			fq.Set("type", t.Name)
			fq.Del("cursor")
			d.First = listURL + fq.Encode()
		}
		for _, col := range append([]admColumn{{Name: "date"}, {Name: "id"}}, d.Columns...) {
			key := col.Name
			if key != "date" && key != "id" {
				key = "attr." + key
			}
			sq := cloneValues(params)
			sq.Set("type", t.Name)
			sq.Del("cursor")
			if d.Sort == "-"+key {
				sq.Set("sort", key)
			} else {
				sq.Set("sort", "-"+key)
			}
			d.SortLinks[col.Name] = listURL + sq.Encode()
		}
	}
	if err != nil {
		code := access.ErrorCode(err)
		if code != access.CodeInvalid && code != access.CodeInvalidField {
			return err
		}
		p.Error, status, d.Items = err.(*access.Error).Message, http.StatusBadRequest, nil
	}
	p.Data = d
	s.render(w, r, status, "admin_records", p)
	return nil
}

type admKV struct {
	Key        string
	Value      any
	Restricted bool
}

type admRecordData struct {
	adminBase
	Type        *policy.Type
	Record      *access.Record
	Fields      []admKV
	Lines       []lineTable
	Restricted  []string
	OwnerName   string
	CreatorName string
	ParentURL   string
	CheckURL    string
	JSON        string
}

// handleAdminRecord shows every field of a record with its metadata, and
// links to the access checker.
func (s *Server) handleAdminRecord(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	rec, err := s.store.GetRecord(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := admRecordData{adminBase: admBaseOf(c), Type: t, Record: rec,
		CheckURL: "/admin/check?" + url.Values{"type": {t.Name}, "id": {rec.ID}}.Encode()}
	for _, f := range t.Restricted {
		d.Restricted = append(d.Restricted, f.Path)
	}
	if a, ok := s.engine.Account(rec.Owner); ok {
		d.OwnerName = a.Name
	}
	if u, ok := s.engine.User(rec.Creator); ok {
		d.CreatorName = u.Name
	}
	if rec.Parent != nil {
		d.ParentURL = "/admin/records/" + url.PathEscape(rec.Parent.Type) + "/" + url.PathEscape(rec.Parent.ID)
	}
	keys := make([]string, 0, len(rec.Attributes))
	for k := range rec.Attributes {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		oi, oj := fieldOrder(t, keys[i]), fieldOrder(t, keys[j])
		return oi < oj || (oi == oj && keys[i] < keys[j])
	})
	for _, k := range keys {
		if lt, ok := asLineTable(k, rec.Attributes[k]); ok {
			d.Lines = append(d.Lines, lt)
			continue
		}
		d.Fields = append(d.Fields, admKV{Key: k, Value: rec.Attributes[k], Restricted: t.RestrictedIndex(k) >= 0})
	}
	if b, err := json.MarshalIndent(toOut(rec, true), "", "  "); err == nil {
		d.JSON = string(b)
	}
	p := s.admPage(r, c, typeTitle(t)+" "+rec.ID, "records")
	p.Data = d
	s.render(w, r, http.StatusOK, "admin_record", p)
	return nil
}
