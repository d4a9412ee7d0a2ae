package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// Files in and out (shared/design/interop.md §2, §3): POST
// /api/v1/import takes a CSV or NDJSON file, and every list answers
// Accept: text/csv or application/x-ndjson (or format=csv|ndjson) with
// all its pages, streamed.

// MaxImportBody caps an import file: a million records of CSV are about
// 100 MB.
const MaxImportBody = 4 << 30

// interopRoutes are the routes of files in and out.
func (s *Surface) interopRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/api/v1/import", Summary: "Import a CSV or NDJSON file", AcceptFiles: true, MaxBody: MaxImportBody, Handle: s.handleImport},
	}
}

// handleImport streams the body into app.Import; the format follows the
// Content-Type.
func (s *Surface) handleImport(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	for key := range q {
		if key != "kind" && key != "type" && key != "min_revision" {
			return access.FieldErrorf(access.CodeInvalid, key, "unknown parameter %s", key)
		}
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	format := ""
	switch ct {
	case "text/csv":
		format = app.FormatCSV
	case "application/x-ndjson":
		format = app.FormatNDJSON
	default:
		return access.Errorf(surface.CodeUnsupportedMediaType, "an import body must be text/csv or application/x-ndjson")
	}
	// A large file takes longer than the server's read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Hour))
	res, err := s.app.Import(r.Context(), c, app.ImportRequest{Kind: q.Get("kind"), Type: q.Get("type"), Format: format, Body: r.Body})
	if err != nil {
		return err
	}
	surface.Revision(w, res.Revision)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// exportFormat is the download format a list request asks for: csv or
// ndjson by format= (which wins) or by Accept, "" for a JSON page.
func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv", "ndjson":
		return f, nil
	case "", "json":
	default:
		return "", access.FieldErrorf(access.CodeInvalid, "format", "format must be json, csv or ndjson")
	}
	if r.URL.Query().Has("format") {
		return "", nil
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		switch mt {
		case "text/csv":
			return "csv", nil
		case "application/x-ndjson":
			return "ndjson", nil
		}
	}
	return "", nil
}

// download writes the headers of a file answer and returns its buffered
// writer; flush it at the end of each page.
func download(w http.ResponseWriter, format, name string) *bufio.Writer {
	ct, ext := "application/x-ndjson", "ndjson"
	if format == "csv" {
		ct, ext = "text/csv; charset=utf-8", "csv"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + "." + ext}))
	w.WriteHeader(http.StatusOK)
	return bufio.NewWriterSize(w, 64<<10)
}

// pageDone flushes a page of a download and gives the client another
// minute for the next one (the server's write timeout would cut a long
// download off).
func pageDone(w http.ResponseWriter, bw *bufio.Writer) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
	_ = rc.Flush()
	return nil
}

// streamFailed handles an error after a download's headers went out: the
// status cannot change any more, so it is logged and the body ends short.
func (s *Surface) streamFailed(r *http.Request, err error) error {
	if err != nil && !errors.Is(err, r.Context().Err()) {
		s.log.Warn("download cut short", "path", r.URL.Path, "err", err)
	}
	return nil
}

// exportRecords answers a record list with all its pages as a file.
func (s *Surface) exportRecords(w http.ResponseWriter, r *http.Request, c *app.Actor, format string) error {
	q := r.URL.Query()
	q.Del("format")
	in, err := app.RecordListFromQuery(r.PathValue("type"), q)
	if err != nil {
		return err
	}
	in.Raw = format != "csv"
	var bw *bufio.Writer
	var cw *csv.Writer
	var enc *json.Encoder
	var names []string
	var row []string
	started := false
	err = s.app.EachRecordPage(r.Context(), c, in, func(page app.RecordPage) error {
		if !started {
			started = true
			bw = download(w, format, in.Type)
			if format == "csv" {
				cw = csv.NewWriter(bw)
				head := []string{"id", "owner", "date", "parent", "creator"}
				if page.Staff {
					head = append(head, "teams")
				}
				head = append(head, "updated_at", "revision")
				for _, f := range s.app.ExportFields(page.Subject, in.Type) {
					names = append(names, f.Name)
					head = append(head, "attr."+f.Name)
				}
				if err := cw.Write(head); err != nil {
					return err
				}
			} else {
				enc = json.NewEncoder(bw)
				enc.SetEscapeHTML(false)
			}
		}
		for _, rec := range page.Items {
			if enc != nil {
				if err := enc.Encode(surface.RecordJSON(rec, page.Staff)); err != nil {
					return err
				}
				continue
			}
			row = append(row[:0], rec.ID, rec.Owner, rec.Date, jsonCell(rec.Parent), rec.Creator)
			if page.Staff {
				row = append(row, jsonCell(rec.Teams))
			}
			row = append(row, rec.UpdatedAt.Format(time.RFC3339Nano), strconv.FormatInt(rec.Revision, 10))
			for _, name := range names {
				row = append(row, cell(rec.Attributes[name]))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		return pageDone(w, bw)
	})
	if !started {
		return err
	}
	return s.streamFailed(r, err)
}

// whole turns an unpaged list into the one page listOrExport reads.
func whole[T any](list func() ([]T, error)) func(app.ListParams) (app.Page[T], error) {
	return func(app.ListParams) (app.Page[T], error) {
		items, err := list()
		return app.Page[T]{Items: items}, err
	}
}

// listOrExport answers a list of T: one JSON page, or with a download
// format every page as a file named name. list is the use case with its
// filter bound.
func listOrExport[T any](s *Surface, w http.ResponseWriter, r *http.Request, name string, lp app.ListParams, list func(app.ListParams) (app.Page[T], error)) error {
	format, err := exportFormat(r)
	if err != nil {
		return err
	}
	if format == "" {
		page, err := list(lp)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pageOf(page))
		return nil
	}
	var bw *bufio.Writer
	var cw *csv.Writer
	var enc *json.Encoder
	cols := jsonColumns(reflect.TypeFor[T]())
	started := false
	err = app.EachPage(list, func(items []T) error {
		if !started {
			started = true
			bw = download(w, format, name)
			if format == "csv" {
				cw = csv.NewWriter(bw)
				head := make([]string, len(cols))
				for i, c := range cols {
					head[i] = c.name
				}
				if err := cw.Write(head); err != nil {
					return err
				}
			} else {
				enc = json.NewEncoder(bw)
				enc.SetEscapeHTML(false)
			}
		}
		row := make([]string, len(cols))
		for i := range items {
			if enc != nil {
				if err := enc.Encode(items[i]); err != nil {
					return err
				}
				continue
			}
			v := reflect.ValueOf(items[i])
			for j, c := range cols {
				row[j] = cell(v.FieldByIndex(c.index).Interface())
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
		}
		return pageDone(w, bw)
	})
	if !started {
		return err
	}
	return s.streamFailed(r, err)
}

// jsonColumn is one CSV column of a struct: its JSON name and field.
type jsonColumn struct {
	name  string
	index []int
}

// jsonColumns lists the JSON fields of a struct type, embedded structs
// flattened, in declaration order: the columns of its CSV (the same names
// and values as its JSON).
func jsonColumns(t reflect.Type) []jsonColumn {
	var out []jsonColumn
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, c := range jsonColumns(f.Type) {
				out = append(out, jsonColumn{name: c.name, index: append([]int{i}, c.index...)})
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonColumn{name: name, index: []int{i}})
	}
	return out
}

// cell is the CSV text of a value: strings as they are, numbers and
// booleans as JSON writes them, null and empty values as an empty cell,
// anything else (objects, lists) as JSON.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.Format(time.RFC3339Nano)
	case *time.Time:
		if x == nil {
			return ""
		}
		return x.Format(time.RFC3339Nano)
	}
	return jsonCell(v)
}

// jsonCell is v as JSON, or empty for nil and empty values.
func jsonCell(v any) string {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || ((rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && (rv.IsNil() || (rv.Kind() != reflect.Pointer && rv.Len() == 0))) {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	s := string(b)
	if s == "null" {
		return ""
	}
	if u, err := strconv.Unquote(s); err == nil && strings.HasPrefix(s, `"`) {
		return u
	}
	return s
}
