package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/jsonenc"
	"github.com/portcullis-dev/portcullis/internal/parallel"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Files in (shared/design/interop.md §2): a CSV or NDJSON file of
// accounts, users, grants or records, one item a line, the same items the
// JSON API takes. A CSV file's header row names the fields; for records
// attr.<name> columns make the attributes (typed by the type's declared
// field, else strings) and teams and parent hold JSON. An empty CSV cell
// is an absent field (PUT's rules: the stored value stays); records'
// updated_at and revision columns, which an export writes, are ignored,
// so an exported file imports again.
//
// Records stream: the file is read and checked chunk by chunk
// (store.MaxBatch lines, the records:batch path: merged, filled and
// validated on every core) while the previous chunk is written, all in
// one write transaction (store.ImportRecords), so a file of any size is
// all or nothing in the memory of two chunks. Accounts, users and grants
// are few: every line is decoded and checked first, then each goes
// through its use case (PutAccount, PutUser, CreateGrant) inside one
// transaction; see Import.

// Import kinds and formats.
const (
	ImportAccounts = "accounts"
	ImportUsers    = "users"
	ImportGrants   = "grants"
	ImportRecords  = "records"

	FormatCSV    = "csv"
	FormatNDJSON = "ndjson"
)

// ImportRequest is one file to import.
type ImportRequest struct {
	// Kind is accounts, users, grants or records.
	Kind string
	// Type is the object type of a records file (required for records,
	// refused for the other kinds).
	Type string
	// Format is csv or ndjson.
	Format string
	// Body is the file.
	Body io.Reader
	// Progress, when set, is told the number of items read so far, after
	// every chunk (records) or line (other kinds).
	Progress func(items int)
}

// ImportResult reports a committed import.
type ImportResult struct {
	Kind     string `json:"kind"`
	Imported int    `json:"imported"`
	Revision int64  `json:"revision"`
}

// maxImportLine bounds one NDJSON line (a record's attributes are at most
// access.MaxAttributesSize; the rest of the item is small).
const maxImportLine = 1 << 20

// Import reads a file of one kind and applies it as the actor: staff
// writers and their tokens only (CodeForbidden), checked before the file
// is read and, for records, again inside the write transaction.
//
// A records file is all or nothing: if any line is bad nothing is written
// and the error (CodeInvalid) names the first bad line and its field in
// Message and Field, and every bad line of that chunk in Items (Index is
// the line number, 1-based; a CSV header is line 1). An id given twice in
// the file is a bad line.
//
// Accounts, users and grants are decoded and shape-checked in full before
// the first write, so a malformed line anywhere writes nothing; then each
// line goes through PutAccount (upsert), PutUser (upsert) or CreateGrant,
// all in one transaction (store.Atomic), with those use cases'
// authorization and validation. A line refused at that stage (a reference
// to a missing account, an email already taken) fails the import with the
// line's error and nothing is written. An id given twice in the file is a
// bad line. References resolve against what existed before the file: an
// account's parent may come earlier in the same file (the store checks it
// in the transaction), but a users file needs its accounts imported
// first, and a grants file its users and accounts.
func (a *App) Import(ctx context.Context, c *Actor, in ImportRequest) (ImportResult, error) {
	if err := requireStaffWriter(c); err != nil {
		return ImportResult{}, err
	}
	if in.Format != FormatCSV && in.Format != FormatNDJSON {
		return ImportResult{}, access.FieldErrorf(access.CodeInvalid, "format", "the import format must be csv or ndjson")
	}
	switch in.Kind {
	case ImportRecords:
		t, err := a.recordType(in.Type)
		if err != nil {
			return ImportResult{}, access.FieldErrorf(access.CodeInvalid, "type", "%s", message(err))
		}
		return a.importRecords(ctx, c, t, in)
	case ImportAccounts, ImportUsers, ImportGrants:
		if in.Type != "" {
			return ImportResult{}, access.FieldErrorf(access.CodeInvalid, "type", "type is only for records")
		}
		return a.importAccess(ctx, c, in)
	}
	return ImportResult{}, access.FieldErrorf(access.CodeInvalid, "kind", "kind must be accounts, users, grants or records")
}

// lineError is the error of one bad line.
func lineError(line int, field, msg string) *access.Error {
	text := fmt.Sprintf("line %d: %s", line, msg)
	if field != "" {
		text = fmt.Sprintf("line %d, field %s: %s", line, field, msg)
	}
	return &access.Error{Code: access.CodeInvalid, Message: text, Field: field, Items: []access.ItemError{{Index: line, Message: msg}}}
}

// linesError is the error of the bad lines of a chunk, the first one
// named in the message.
func linesError(first *access.Error, items []access.ItemError) error {
	e := *first
	e.Items = items
	if len(items) > 1 {
		e.Message += fmt.Sprintf(" (and %d more bad lines); nothing was written", len(items)-1)
	} else {
		e.Message += "; nothing was written"
	}
	return &e
}

// errField is the field a domain error names, as a file's column.
func errField(err error) string {
	var ae *access.Error
	if errors.As(err, &ae) {
		if name, ok := strings.CutPrefix(ae.Field, "attributes."); ok {
			return "attr." + name
		}
		return ae.Field
	}
	return ""
}

// lineReader yields a file's items one line at a time, each as a JSON
// object (NDJSON as given; CSV converted by a rowConverter).
type lineReader interface {
	// next returns the next item and its line number, or io.EOF. A bad
	// line is a *access.Error from lineError.
	next() (item []byte, line int, err error)
}

// ndjsonReader reads NDJSON, skipping blank lines.
type ndjsonReader struct {
	sc   *bufio.Scanner
	line int
}

func newNDJSONReader(r io.Reader) *ndjsonReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxImportLine)
	return &ndjsonReader{sc: sc}
}

func (r *ndjsonReader) next() ([]byte, int, error) {
	for r.sc.Scan() {
		r.line++
		b := bytes.TrimSpace(r.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if b[0] != '{' {
			return nil, r.line, lineError(r.line, "", "each line must be one JSON object")
		}
		return bytes.Clone(b), r.line, nil
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, r.line + 1, lineError(r.line+1, "", fmt.Sprintf("the line is longer than %d bytes", maxImportLine))
		}
		return nil, r.line + 1, readError(err)
	}
	return nil, r.line, io.EOF
}

// readError turns a body reading error into the API's (CodeTooLarge over
// the limit); anything else is returned as is.
func readError(err error) error {
	var tl interface{ MaxBytesLimit() int64 }
	if errors.As(err, &tl) {
		return access.Errorf(access.CodeTooLarge, "the file is larger than %d bytes", tl.MaxBytesLimit())
	}
	return fmt.Errorf("read import: %w", err)
}

// column converts one CSV cell into the JSON value of its field; ok false
// leaves the field out (an empty cell).
type column struct {
	name string
	// path is the item's field, and attr the attribute name for attr.<name>
	// columns ("" otherwise).
	path, attr string
	convert    func(cell string) (any, error)
}

// csvReader reads CSV with a header row, converting each row to a JSON
// object.
type csvReader struct {
	r    *csv.Reader
	cols []column
	// fixed are fields every item gets (records: the type).
	fixed map[string]any
	buf   bytes.Buffer
	// typ is the type of a records file ("" for other kinds), for
	// nextUpdate; plainHead reports that every column name is valid
	// UTF-8 and of a known shape (see plainRow).
	typ       string
	plainHead bool
	// attrCols is set when the file has attr.<name> columns: then every
	// row carries its attributes (an empty row: none).
	attrCols bool
}

// newCSVReader reads the header and builds the columns with colFor, which
// answers the column for a header name or an error naming it.
func newCSVReader(r io.Reader, colFor func(name string) (column, error)) (*csvReader, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return &csvReader{r: cr}, nil
	}
	if err != nil {
		return nil, csvError(err)
	}
	out := &csvReader{r: cr}
	seen := map[string]bool{}
	for i, name := range head {
		name = strings.TrimSpace(name)
		if i == 0 {
			name = strings.TrimPrefix(name, "\ufeff") // Excel's byte order mark
		}
		if seen[name] {
			return nil, lineError(1, name, "the column is given twice")
		}
		seen[name] = true
		col, err := colFor(name)
		if err != nil {
			return nil, lineError(1, name, message(err))
		}
		out.cols = append(out.cols, col)
		out.attrCols = out.attrCols || col.attr != ""
	}
	return out, nil
}

// csvError turns a CSV syntax error into a line error.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			msg = "the row has a different number of cells than the header"
		}
		return lineError(pe.StartLine, "", "not valid CSV: "+msg)
	}
	return readError(err)
}

func (r *csvReader) next() ([]byte, int, error) {
	row, line, err := r.read()
	if err != nil {
		return nil, line, err
	}
	return r.lineOf(row, line)
}

// read reads the next row and its line number.
func (r *csvReader) read() ([]string, int, error) {
	if r.cols == nil {
		return nil, 0, io.EOF
	}
	row, err := r.r.Read()
	if errors.Is(err, io.EOF) {
		line, _ := r.r.FieldPos(0)
		return nil, line, io.EOF
	}
	if err != nil {
		return nil, 0, csvError(err)
	}
	line, _ := r.r.FieldPos(0)
	return row, line, nil
}

// nextUpdate reads the next row of a records file into u, the
// RecordUpdate its JSON line decodes to, without writing and decoding
// the line, when the row allows (plainRow); else it returns the line
// (next's) for the caller to decode, leaving u alone.
func (r *csvReader) nextUpdate(u *RecordUpdate) ([]byte, int, error) {
	row, line, err := r.read()
	if err != nil {
		return nil, line, err
	}
	if !r.plainRow(row) {
		return r.lineOf(row, line)
	}
	var attrs map[string]any
	if r.attrCols {
		attrs = make(map[string]any, len(r.cols))
	}
	finite := true
	err = r.cells(row, line, func(col column, v any) {
		if col.attr != "" {
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				finite = false
			}
			attrs[col.attr] = v
			return
		}
		s := v.(string)
		switch col.path {
		case "id":
			u.ID = Some(s)
		case "owner":
			u.Owner = Some(s)
		case "date":
			u.Date = Some(s)
		case "creator":
			u.Creator = Some(s)
		}
	})
	if err != nil {
		return nil, line, err
	}
	if !finite {
		// What the line's encoders refuse, after every cell converted.
		return nil, line, lineError(line, "", "not valid")
	}
	u.Type = Some(r.typ)
	if attrs != nil {
		u.Attributes = Some(attrs)
	}
	return nil, line, nil
}

// plainRow reports whether nextUpdate may build row's item directly:
// a records file (typ set) whose row has no JSON cells (parent, teams)
// and only valid UTF-8 (the line's encoder would replace invalid bytes).
// Its other cells convert to strings, numbers and booleans, which the
// line's JSON gives back unchanged.
func (r *csvReader) plainRow(row []string) bool {
	if r.typ == "" || !r.plainHead {
		return false
	}
	for i, col := range r.cols {
		cell := row[i]
		if cell == "" || col.convert == nil {
			continue
		}
		if col.path == "parent" || col.path == "teams" || !utf8.ValidString(cell) {
			return false
		}
	}
	return true
}

// plainHead reports whether a records file's columns allow nextUpdate:
// names of valid UTF-8 (the line's encoder would replace invalid bytes in
// an attribute's name) and every column one nextUpdate knows.
func plainHead(cols []column) bool {
	for _, col := range cols {
		if !utf8.ValidString(col.name) {
			return false
		}
		switch {
		case col.attr != "", col.convert == nil:
		case col.path == "id", col.path == "owner", col.path == "date", col.path == "creator", col.path == "type", col.path == "parent", col.path == "teams":
		default:
			return false
		}
	}
	return true
}

// lineOf converts a row into its JSON line.
func (r *csvReader) lineOf(row []string, line int) ([]byte, int, error) {
	obj := make(map[string]any, len(r.cols)+len(r.fixed))
	for k, v := range r.fixed {
		obj[k] = v
	}
	var attrs map[string]any
	if r.attrCols {
		attrs = map[string]any{}
		obj["attributes"] = attrs
	}
	if err := r.cells(row, line, func(col column, v any) {
		if col.attr != "" {
			attrs[col.attr] = v
		} else {
			obj[col.path] = v
		}
	}); err != nil {
		return nil, line, err
	}
	// The line goes on as JSON, as an NDJSON line would: jsonenc writes
	// the cells' values (strings, numbers, booleans, decoded JSON) several
	// times cheaper than encoding/json, which takes what it refuses.
	if b, ok := jsonenc.AppendObject(make([]byte, 0, 512), obj); ok {
		return b, line, nil
	}
	r.buf.Reset()
	enc := json.NewEncoder(&r.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return nil, line, lineError(line, "", "not valid")
	}
	return bytes.Clone(r.buf.Bytes()), line, nil
}

// cells converts the non-empty cells of row (at line) and hands each to
// each with its column, in column order; the first cell that does not
// convert is the error, naming the line and column.
func (r *csvReader) cells(row []string, line int, each func(col column, v any)) error {
	for i, col := range r.cols {
		cell := row[i]
		if cell == "" || col.convert == nil {
			continue
		}
		v, err := col.convert(cell)
		if err != nil {
			return lineError(line, col.name, message(err))
		}
		each(col, v)
	}
	return nil
}

// Cell converters.

func asString(cell string) (any, error) { return cell, nil }

func asJSON(cell string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(cell), &v); err != nil {
		return nil, access.Errorf(access.CodeInvalid, "the cell must hold JSON")
	}
	return v, nil
}

func asBool(cell string) (any, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(cell))
	if err != nil {
		return nil, access.Errorf(access.CodeInvalid, "%q is not true or false", cell)
	}
	return b, nil
}

func asNumber(cell string) (any, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
	if err != nil {
		return nil, access.Errorf(access.CodeInvalid, "%q is not a number", cell)
	}
	return f, nil
}

func asInt(cell string) (any, error) {
	n, err := strconv.Atoi(strings.TrimSpace(cell))
	if err != nil {
		return nil, access.Errorf(access.CodeInvalid, "%q is not an integer", cell)
	}
	return n, nil
}

// recordColumn is the column of a records CSV header name.
func recordColumn(t *policy.Type) func(string) (column, error) {
	return func(name string) (column, error) {
		switch name {
		case "id", "owner", "date", "creator":
			return column{name: name, path: name, convert: asString}, nil
		case "parent", "teams":
			return column{name: name, path: name, convert: asJSON}, nil
		case "type":
			return column{name: name, path: name, convert: func(cell string) (any, error) {
				if cell != t.Name {
					return nil, access.Errorf(access.CodeInvalid, "the file imports type %s, not %s", t.Name, cell)
				}
				return cell, nil
			}}, nil
		case "updated_at", "revision":
			return column{name: name}, nil // bookkeeping of an export: ignored
		}
		attr, ok := strings.CutPrefix(name, "attr.")
		if !ok || attr == "" {
			return column{}, access.Errorf(access.CodeInvalid, "unknown column %s (use id, owner, date, parent, teams, creator or attr.<name>)", name)
		}
		conv := asString
		if f, declared := t.Fields[attr]; declared {
			switch f.Type {
			case "number":
				conv = asNumber
			case "bool":
				conv = asBool
			}
		}
		return column{name: name, path: "attributes", attr: attr, convert: conv}, nil
	}
}

// importChunk is a chunk of records read, checked and ready to write.
type importChunk struct {
	recs  []*access.Record
	lines []int
	err   error
}

// importRecords streams a records file into store.ImportRecords: a
// goroutine owned by this call reads and prepares the next chunk while the
// store writes the previous one; it stops when the file ends, on the first
// bad chunk, or when the import ends (ctx).
func (a *App) importRecords(ctx context.Context, c *Actor, t *policy.Type, in ImportRequest) (ImportResult, error) {
	var lr lineReader
	if in.Format == FormatCSV {
		cr, err := newCSVReader(in.Body, recordColumn(t))
		if err != nil {
			return ImportResult{}, err
		}
		cr.fixed = map[string]any{"type": t.Name}
		cr.typ, cr.plainHead = t.Name, plainHead(cr.cols)
		lr = cr
	} else {
		lr = newNDJSONReader(in.Body)
	}
	// Into a type without records (a first import), no line merges with a
	// stored record: the chunks need no read of stored ones. (The reads
	// are of the records committed before the import, as they would be.)
	n, err := a.st.CountTypeUpTo(ctx, t.Name, 1)
	if err != nil {
		return ImportResult{}, err
	}
	noneStored := n == 0
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan importChunk, 1)
	go func() {
		defer close(chunks)
		seen := map[uint64]int{}
		seed := maphash.MakeSeed()
		read := 0
		for {
			ch, eof := a.readChunk(ctx, lr, t, seen, seed, noneStored)
			read += len(ch.recs)
			if ch.err == nil && in.Progress != nil {
				in.Progress(read)
			}
			if len(ch.recs) > 0 || ch.err != nil {
				select {
				case chunks <- ch:
				case <-ctx.Done():
					return
				}
			}
			if eof || ch.err != nil {
				return
			}
		}
	}()
	defer func() {
		cancel()
		for range chunks { // wait for the reader to stop
		}
	}()
	var cur importChunk
	next := func() ([]*access.Record, error) {
		ch, ok := <-chunks
		if !ok {
			return nil, io.EOF
		}
		if ch.err != nil {
			return nil, ch.err
		}
		cur = ch
		return ch.recs, nil
	}
	res, err := a.st.ImportRecords(ctx, write(c, a.staffWriterStill(c)), next)
	if err != nil {
		var ae *access.Error
		if errors.As(err, &ae) && len(ae.Items) > 0 && ae.Field == "" && len(cur.lines) > 0 && !strings.HasPrefix(ae.Message, "line ") {
			// The store's per-item errors are indexed within the chunk.
			items := make([]access.ItemError, len(ae.Items))
			for i, it := range ae.Items {
				items[i] = access.ItemError{Index: cur.lines[it.Index], Message: it.Message}
			}
			return ImportResult{}, linesError(lineError(items[0].Index, "", items[0].Message), items)
		}
		return ImportResult{}, err
	}
	return ImportResult{Kind: ImportRecords, Imported: res.Upserted, Revision: res.Revision}, nil
}

// readChunk reads up to store.MaxBatch lines and prepares them (the
// records:batch path); eof reports that the file ended. The lines are
// decoded on every core, then checked in file order, so the error is
// the first bad line's as if they were read one by one.
func (a *App) readChunk(ctx context.Context, lr lineReader, t *policy.Type, seen map[uint64]int, seed maphash.Seed, noneStored bool) (ch importChunk, eof bool) {
	// A CSV row is read into its item directly where it can be
	// (csvReader.nextUpdate); raws[i] is nil then, else the line to
	// decode.
	ur, _ := lr.(*csvReader)
	raws := make([][]byte, 0, store.MaxBatch)
	lines := make([]int, 0, store.MaxBatch)
	items := make([]RecordUpdate, 0, store.MaxBatch)
	var readErr error
	for len(raws) < store.MaxBatch {
		var u RecordUpdate
		var raw []byte
		var line int
		var err error
		if ur != nil {
			raw, line, err = ur.nextUpdate(&u)
		} else {
			raw, line, err = lr.next()
		}
		if errors.Is(err, io.EOF) {
			eof = true
			break
		}
		if err != nil {
			readErr = err
			break
		}
		raws = append(raws, raw)
		lines = append(lines, line)
		items = append(items, u)
	}
	decodeErrs := make([]error, len(raws))
	parallel.For(len(raws), func(i int) {
		if raws[i] != nil {
			decodeErrs[i] = jsonv2.Unmarshal(raws[i], &items[i], jsonv2.RejectUnknownMembers(true))
		}
	})
	for i := range items {
		u, line := &items[i], lines[i]
		if err := decodeErrs[i]; err != nil {
			msg := valueMessage(err)
			field := ""
			if rest, ok := strings.CutPrefix(msg, "field "); ok {
				field, _, _ = strings.Cut(rest, " ")
			}
			ch.err = lineError(line, field, msg)
			return ch, true
		}
		if !u.Type.Set || u.Type.Null {
			u.Type = Some(t.Name)
		} else if u.Type.Value != t.Name {
			ch.err = lineError(line, "type", fmt.Sprintf("the file imports type %s, not %s", t.Name, u.Type.Value))
			return ch, true
		}
		if !u.ID.Set || u.ID.Null || u.ID.Value == "" {
			ch.err = lineError(line, "id", "every record needs an id")
			return ch, true
		}
		// The file's ids are remembered by a 64-bit hash (a million ids in
		// a few MiB); a collision would report a false duplicate, with a
		// chance of about 1 in 10^7 for 10^6 ids.
		h := maphash.String(seed, u.ID.Value)
		if first, dup := seen[h]; dup {
			ch.err = lineError(line, "id", fmt.Sprintf("%s %s is already on line %d", t.Name, u.ID.Value, first))
			return ch, true
		}
		seen[h] = line
	}
	ch.lines = lines
	if readErr != nil {
		ch.err = readErr
		return ch, true
	}
	if ctx.Err() != nil {
		ch.err = ctx.Err()
		return ch, true
	}
	recs, errs, err := a.prepareUpserts(ctx, items, noneStored)
	if err != nil {
		ch.err = err
		return ch, true
	}
	var first *access.Error
	var bad []access.ItemError
	for i, err := range errs {
		if err == nil {
			continue
		}
		bad = append(bad, access.ItemError{Index: ch.lines[i], Message: message(err)})
		if first == nil {
			first = lineError(ch.lines[i], errField(err), message(err))
		}
	}
	if first != nil {
		ch.err = linesError(first, bad)
		return ch, true
	}
	ch.recs = recs
	return ch, eof
}

// accessColumn is the column of an accounts, users or grants CSV header
// name: the JSON field of the same name, typed as the use case's input.
func accessColumn(kind string) func(string) (column, error) {
	fields := map[string]func(string) (any, error){}
	switch kind {
	case ImportAccounts:
		for _, f := range []string{"id", "name", "kind", "parent"} {
			fields[f] = asString
		}
		fields["external_access"], fields["inherit"] = asBool, asBool
	case ImportUsers:
		for _, f := range []string{"id", "kind", "name", "email", "home_account", "status", "staff_role"} {
			fields[f] = asString
		}
		fields["constraints"] = asJSON
	case ImportGrants:
		for _, f := range []string{"principal", "account", "role", "scope", "access", "valid_from", "valid_until", "notes"} {
			fields[f] = asString
		}
		fields["days_back"] = asInt
	}
	return func(name string) (column, error) {
		conv, ok := fields[name]
		if !ok {
			return column{}, access.Errorf(access.CodeInvalid, "unknown column %s", name)
		}
		return column{name: name, path: name, convert: conv}, nil
	}
}

// accessItem is one decoded line of an accounts, users or grants file.
type accessItem struct {
	line    int
	account AccountUpdate
	user    UserUpdate
	grant   GrantUpdate
}

// importAccess imports accounts, users or grants: every line decoded
// first, then one use case call each (see Import).
func (a *App) importAccess(ctx context.Context, c *Actor, in ImportRequest) (ImportResult, error) {
	var lr lineReader
	if in.Format == FormatCSV {
		cr, err := newCSVReader(in.Body, accessColumn(in.Kind))
		if err != nil {
			return ImportResult{}, err
		}
		lr = cr
	} else {
		lr = newNDJSONReader(in.Body)
	}
	var items []accessItem
	ids := map[string]int{} // id → its line
	for {
		raw, line, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return ImportResult{}, err
		}
		it := accessItem{line: line}
		var target any
		var id Optional[string]
		switch in.Kind {
		case ImportAccounts:
			target = &it.account
		case ImportUsers:
			target = &it.user
		case ImportGrants:
			target = &it.grant
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(target); err != nil {
			return ImportResult{}, jsonLineError(line, err)
		}
		switch in.Kind {
		case ImportAccounts:
			id = it.account.ID
		case ImportUsers:
			id = it.user.ID
		case ImportGrants:
			if !it.grant.Principal.Set || it.grant.Principal.Value == "" {
				return ImportResult{}, lineError(line, "principal", "every grant needs a principal")
			}
			if !it.grant.Account.Set || it.grant.Account.Value == "" {
				return ImportResult{}, lineError(line, "account", "every grant needs an account")
			}
			id = Some("-")
		}
		if !id.Set || id.Null || id.Value == "" {
			return ImportResult{}, lineError(line, "id", "every line needs an id")
		}
		if in.Kind != ImportGrants && !access.ValidID(id.Value) {
			return ImportResult{}, lineError(line, "id", fmt.Sprintf("%q is not a valid id", id.Value))
		}
		if in.Kind != ImportGrants {
			if first, dup := ids[id.Value]; dup {
				return ImportResult{}, lineError(line, "id", fmt.Sprintf("id %s is already on line %d", id.Value, first))
			}
			ids[id.Value] = line
		}
		items = append(items, it)
	}
	rev, err := a.st.Atomic(ctx, write(c, a.staffWriterStill(c)), func(ctx context.Context) error {
		ctx = context.WithValue(ctx, atomicScope{}, true)
		for i, it := range items {
			var err error
			switch in.Kind {
			case ImportAccounts:
				_, _, _, err = a.PutAccount(ctx, c, it.account.ID.Value, it.account, true)
			case ImportUsers:
				_, _, _, err = a.PutUser(ctx, c, it.user.ID.Value, it.user, true)
			case ImportGrants:
				_, _, err = a.CreateGrant(ctx, c, it.grant)
			}
			if err != nil {
				if code := access.ErrorCode(err); code == access.CodeInternal || code == access.CodeForbidden {
					return err
				}
				e := lineError(it.line, errField(err), message(err)+"; nothing was written")
				e.Code = access.ErrorCode(err)
				var ae *access.Error
				if errors.As(err, &ae) {
					e.ExistingID = ae.ExistingID
				}
				return e
			}
			if in.Progress != nil {
				in.Progress(i + 1)
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return ImportResult{Kind: in.Kind, Imported: len(items), Revision: rev}, nil
}

// atomicScope marks the context of an import's store.Atomic scope: the use
// cases skip reading their result back, since reads there see the state
// before the import.
type atomicScope struct{}

func atomic(ctx context.Context) bool { return ctx.Value(atomicScope{}) != nil }

// jsonLineError is the line error of an item encoding/json refused.
func jsonLineError(line int, err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return lineError(line, te.Field, "has the wrong type")
	case errors.As(err, &se):
		return lineError(line, "", "not valid JSON")
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	field := ""
	if rest, ok := strings.CutPrefix(msg, "unknown field "); ok {
		field = strings.Trim(rest, `"`)
		msg = "unknown field"
	}
	return lineError(line, field, msg)
}
