package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The records browser: staff see every record and every field. The list
// takes the API's filters (account subtree, date range, attr.<field>,
// sort) through the same app.ListRecords, so the same validation and the
// same indexed, cursor-paged query serve both.

type column struct {
	Name, Label string
	Numeric     bool
	Restricted  bool
}

type recordsData struct {
	roles
	Types       []*policy.Type
	Type        *policy.Type
	Query       url.Values
	Columns     []column
	Items       []*access.Record
	Next, First string
	Sort        string
	SortLinks   map[string]string
	Statuses    []string
	HasStatus   bool
	// Download is the API link that downloads the list with the current
	// filters as CSV (every page; the session cookie authenticates it).
	Download string
	// Search is the search box's text; Searched tells that the list is
	// its results (app.SearchConsoleRecords), not the filtered list.
	Search   string
	Searched bool
	// AccountNames name the owners and the owner field's accounts.
	AccountNames map[string]string
}

// recordsPage is the browser's page size.
const recordsPage = 50

func (s *Surface) handleRecords(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	pol := s.app.Engine().Policy()
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
	d := recordsData{roles: rolesOf(c), Types: pol.Types(), Type: t, Query: params, SortLinks: map[string]string{}}
	if f, ok := t.Fields["status"]; ok {
		d.HasStatus, d.Statuses = true, f.Values
	}
	for _, f := range t.FieldList {
		d.Columns = append(d.Columns, column{Name: f.Name, Label: strings.ReplaceAll(f.Name, "_", " "),
			Numeric: f.Type == policy.FieldNumber, Restricted: t.RestrictedIndex(f.Name) >= 0})
	}
	p := page(c, render.TypeTitle(t), "records")
	status := http.StatusOK
	d.Search = strings.TrimSpace(q.Get("q"))
	delete(params, "q")
	var err error
	if d.Search != "" {
		d.Searched = true
		d.Items, err = s.app.SearchConsoleRecords(r.Context(), c, app.ConsoleRecordSearch{Type: t.Name, Text: d.Search, Limit: recordsPage})
		if err != nil {
			return err
		}
		recordLinks(&d, "")
		d.Download = "" // the CSV is of lists, not of searches
	} else if in, ierr := app.RecordListFromQuery(t.Name, params); ierr != nil {
		err = ierr
	} else {
		in.AsUser = "" // the browser is the staff's own view
		if !params.Has("limit") {
			in.Limit = recordsPage
		}
		var list app.RecordPage
		list, err = s.app.ListRecords(r.Context(), c, in)
		d.Items, d.Sort = list.Items, list.Sort
		if err == nil {
			recordLinks(&d, list.Next)
		}
	}
	if err != nil {
		if status, err = listError(p, err); err != nil {
			return err
		}
		d.Items = nil
	}
	d.AccountNames = map[string]string{}
	for _, rec := range d.Items {
		d.AccountNames[rec.Owner] = s.accountName(rec.Owner)
		if v, ok := rec.Attributes[t.OwnerField].(string); ok {
			d.AccountNames[v] = s.accountName(v)
		}
	}
	p.Data = d
	s.rd.Render(w, r, status, "admin_records", p)
	return nil
}

// recordLinks sets the list's pager and column sort links from its query.
func recordLinks(d *recordsData, next string) {
	const listURL = "/admin/records?"
	t, params := d.Type, d.Query
	filters := render.CloneValues(params)
	filters.Set("type", t.Name)
	d.Next, d.First = render.PageLinks("/admin/records", filters, params.Get("cursor"), next)
	dl := render.CloneValues(params)
	dl.Del("cursor")
	dl.Del("limit")
	dl.Set("format", "csv")
	d.Download = "/api/v1/records/" + url.PathEscape(t.Name) + "?" + dl.Encode()
	for _, col := range append([]column{{Name: "date"}, {Name: "id"}}, d.Columns...) {
		key := col.Name
		if key != "date" && key != "id" {
			key = "attr." + key
		}
		sq := render.CloneValues(params)
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

type keyValue struct {
	Key        string
	Value      any
	Restricted bool
}

type recordData struct {
	roles
	Type        *policy.Type
	Record      *access.Record
	Fields      []keyValue
	Lines       []render.LineTable
	Restricted  []string
	OwnerName   string
	CreatorName string
	// OwnerFieldName names the account of the type's owner field.
	OwnerFieldName string
	// AccountNames name the owners of the related records.
	AccountNames map[string]string
	ParentURL    string
	CheckURL     string
	JSON         string
	// Related are the record's children (records.md §3).
	Related []app.RelatedList
	// Talk is the record's conversation and files (nil when the type has
	// neither).
	Talk *render.Talk
}

// relatedLimit is how many children of each type a record page shows.
const relatedLimit = 50

// handleRecord shows every field of a record with its metadata, and links
// to the access checker.
func (s *Surface) handleRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderRecord(w, r, c, http.StatusOK, "")
}

// renderRecord renders the record page with status and, for a form of
// the page that failed, its error message.
func (s *Surface) renderRecord(w http.ResponseWriter, r *http.Request, c *app.Actor, status int, formError string) error {
	eng := s.app.Engine()
	t := eng.Policy().Type(r.PathValue("type"))
	if t == nil {
		return access.Errorf(access.CodeNotFound, "unknown object type %s", r.PathValue("type"))
	}
	rec, _, err := s.app.GetRecord(r.Context(), c, t.Name, r.PathValue("id"), "")
	if err != nil {
		return err
	}
	d := recordData{roles: rolesOf(c), Type: t, Record: rec,
		CheckURL: "/admin/check?" + url.Values{"type": {t.Name}, "id": {rec.ID}}.Encode()}
	for _, f := range t.Restricted {
		d.Restricted = append(d.Restricted, f.Path)
	}
	if a, ok := eng.Account(rec.Owner); ok {
		d.OwnerName = a.Name
	}
	if u, ok := eng.User(rec.Creator); ok {
		d.CreatorName = u.Name
	}
	if v, ok := rec.Attributes[t.OwnerField].(string); ok {
		d.OwnerFieldName = s.accountName(v)
	}
	if rec.Parent != nil {
		d.ParentURL = "/admin/records/" + url.PathEscape(rec.Parent.Type) + "/" + url.PathEscape(rec.Parent.ID)
	}
	keys := make([]string, 0, len(rec.Attributes))
	for k := range rec.Attributes {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		oi, oj := render.FieldOrder(t, keys[i]), render.FieldOrder(t, keys[j])
		return oi < oj || (oi == oj && keys[i] < keys[j])
	})
	for _, k := range keys {
		if lt, ok := render.AsLineTable(k, rec.Attributes[k]); ok {
			d.Lines = append(d.Lines, lt)
			continue
		}
		d.Fields = append(d.Fields, keyValue{Key: k, Value: rec.Attributes[k], Restricted: t.RestrictedIndex(k) >= 0})
	}
	if d.Related, err = s.app.RelatedRecords(r.Context(), c, t.Name, rec.ID, "", relatedLimit); err != nil {
		return err
	}
	d.AccountNames = map[string]string{}
	for _, l := range d.Related {
		for _, it := range l.Items {
			d.AccountNames[it.Owner] = s.accountName(it.Owner)
		}
	}
	if b, err := json.MarshalIndent(surface.RecordJSON(rec, true), "", "  "); err == nil {
		d.JSON = string(b)
	}
	if d.Talk, err = s.talk(r, c, t, rec.ID); err != nil {
		return err
	}
	p := page(c, render.TypeTitle(t)+" "+rec.ID, "records")
	p.Data, p.Error = d, formError
	s.rd.Render(w, r, status, "admin_record", p)
	return nil
}
