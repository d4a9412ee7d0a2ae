package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/parallel"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The ERP's bulk sync (records:batch): up to store.MaxBatch upserts and
// deletes, all or nothing, every bad item reported by index. An upsert
// item follows PUT's rules: a field it omits keeps the stored value.
//
// A body of 10,000 items is megabytes of JSON. DecodeBatch reads its
// structure in one streaming pass (jsontext, which only checks syntax and
// cuts out each item's bytes), then the items are decoded into
// RecordUpdate values, merged with their stored records, filled and
// validated on every core by one worker pool.

// RecordBatch is a decoded records:batch body.
type RecordBatch struct {
	Upsert []RecordUpdate
	Delete []access.Ref
	// raw holds each upsert's bytes until decodeItems.
	raw []jsontext.Value
}

// Item errors are reported with the item's index; a body that is not a
// batch at all (not JSON, unknown keys, the wrong shapes) is one
// CodeInvalid error.

// DecodeBatch reads a records:batch body from r: one JSON object with
// "upsert" (an array of objects) and "delete" (an array of {type, id}),
// nothing else and nothing after it. Items are cut out here and decoded
// by Batch; a body over the reader's limit is CodeTooLarge.
func DecodeBatch(r io.Reader) (*RecordBatch, error) {
	dec := jsontext.NewDecoder(r)
	b := &RecordBatch{}
	if err := expectKind(dec, '{', "request body must be a JSON object"); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, syntaxError(err)
		}
		key := tok.String()
		if seen[key] {
			return nil, access.Errorf(access.CodeInvalid, "field %s is given twice", key)
		}
		seen[key] = true
		switch key {
		case "upsert":
			if dec.PeekKind() == 'n' {
				if _, err := dec.ReadToken(); err != nil {
					return nil, syntaxError(err)
				}
				continue
			}
			if err := expectKind(dec, '[', "field upsert must be an array"); err != nil {
				return nil, err
			}
			for dec.PeekKind() != ']' {
				if k := dec.PeekKind(); k != '{' {
					if k == 0 {
						_, err := dec.ReadValue()
						return nil, syntaxError(err)
					}
					return nil, access.Errorf(access.CodeInvalid, "upsert[%d] must be an object", len(b.raw))
				}
				v, err := dec.ReadValue()
				if err != nil {
					return nil, syntaxError(err)
				}
				b.raw = append(b.raw, v.Clone())
				if len(b.raw) > store.MaxBatch {
					return nil, batchTooLarge(len(b.raw))
				}
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, syntaxError(err)
			}
		case "delete":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, syntaxError(err)
			}
			if err := json.Unmarshal(v, &b.Delete, json.RejectUnknownMembers(true)); err != nil {
				return nil, access.Errorf(access.CodeInvalid, "field delete must be an array of {type, id}: %s", valueMessage(err))
			}
		default:
			return nil, access.Errorf(access.CodeInvalid, "unknown field %s", key)
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		if err == nil {
			return nil, access.Errorf(access.CodeInvalid, "request body must be a single JSON value")
		}
		return nil, syntaxError(err)
	}
	return b, nil
}

// expectKind reads the next token and requires it to be of kind k.
func expectKind(dec *jsontext.Decoder, k jsontext.Kind, msg string) error {
	if got := dec.PeekKind(); got != k {
		if got == 0 {
			_, err := dec.ReadToken()
			return syntaxError(err)
		}
		return access.Errorf(access.CodeInvalid, "%s", msg)
	}
	_, err := dec.ReadToken()
	return syntaxError(err)
}

// syntaxError turns a reading error into the API's: CodeTooLarge when the
// body exceeds the limit, CodeInvalid for anything the JSON syntax refuses.
func syntaxError(err error) error {
	if err == nil {
		return nil
	}
	var tl interface{ MaxBytesLimit() int64 }
	if errors.As(err, &tl) {
		return access.Errorf(access.CodeTooLarge, "request body is larger than %d bytes", tl.MaxBytesLimit())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return access.Errorf(access.CodeInvalid, "request body is not valid JSON (it ends too early)")
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return access.Errorf(access.CodeInvalid, "request body is not valid JSON (at byte %d)", se.ByteOffset)
	}
	return err
}

// valueMessage is the client-safe text of a value's decoding error.
func valueMessage(err error) string {
	var se *json.SemanticError
	if errors.As(err, &se) {
		switch {
		case errors.Is(se.Err, json.ErrUnknownName):
			return "unknown field " + strings.TrimPrefix(string(se.JSONPointer), "/")
		case se.JSONPointer != "" && se.JSONKind != 0:
			return fmt.Sprintf("field %s has the wrong shape (%s)", strings.TrimPrefix(string(se.JSONPointer), "/"), se.JSONKind)
		case se.JSONPointer != "":
			return fmt.Sprintf("field %s has the wrong shape", strings.TrimPrefix(string(se.JSONPointer), "/"))
		}
		return "wrong shape"
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		if errors.Is(syn.Err, jsontext.ErrDuplicateName) {
			return "field " + strings.TrimPrefix(string(syn.JSONPointer), "/") + " is given twice"
		}
		return "not valid JSON"
	}
	return "not valid"
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

// BatchJSON reads a records:batch body (DecodeBatch) and applies it
// (Batch); the actor is refused before the body is read.
func (a *App) BatchJSON(ctx context.Context, c *Actor, body io.Reader) (store.BatchResult, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.BatchResult{}, err
	}
	b, err := DecodeBatch(body)
	if err != nil {
		return store.BatchResult{}, err
	}
	return a.Batch(ctx, c, b)
}

// Batch applies a decoded batch as the actor: staff writers and their
// tokens only (CodeForbidden). Every item is decoded, merged with its
// stored record (PUT's rules), filled and validated; if any is bad,
// nothing is written and the error names every bad index (CodeInvalid).
// A duplicate (type, id) is a bad item; deleting a missing record is a
// no-op.
func (a *App) Batch(ctx context.Context, c *Actor, b *RecordBatch) (store.BatchResult, error) {
	if err := requireStaffWriter(c); err != nil {
		return store.BatchResult{}, err
	}
	if n := len(b.raw) + len(b.Upsert) + len(b.Delete); n > store.MaxBatch {
		return store.BatchResult{}, batchTooLarge(n)
	}
	if err := b.decodeItems(); err != nil {
		return store.BatchResult{}, err
	}
	recs, errs, err := a.prepareUpserts(ctx, b.Upsert, false)
	if err != nil {
		return store.BatchResult{}, err
	}
	var bad []access.ItemError
	for i, err := range errs {
		if err != nil {
			bad = append(bad, access.ItemError{Index: i, Message: message(err)})
		}
	}
	if len(bad) > 0 {
		return store.BatchResult{}, batchInvalid(bad)
	}
	return a.st.Batch(ctx, write(c, a.staffWriterStill(c)), store.RecordBatch{Upsert: recs, Delete: b.Delete})
}

// prepareUpserts turns upsert items into the records to write: each is
// merged with its stored record (PUT's rules), filled and validated, on
// every core. errs[i] is item i's problem (a domain error); err is an
// internal error that fails the whole write. records:batch and the
// records import share it; noneStored says that no item's record can be
// stored (an import into a type without records), so none is read.
func (a *App) prepareUpserts(ctx context.Context, items []RecordUpdate, noneStored bool) (recs []*access.Record, errs []error, err error) {
	refs := make([]access.Ref, len(items))
	for i := range items {
		refs[i] = access.Ref{Type: items[i].Type.Value, ID: items[i].ID.Value}
	}
	stored := access.RecordMap{}
	if !noneStored {
		var err error
		if stored, err = a.batchStored(ctx, items, refs); err != nil {
			return nil, nil, err
		}
	}
	recs = make([]*access.Record, len(items))
	errs = make([]error, len(items))
	parallel.For(len(items), func(i int) {
		rec := &access.Record{Type: refs[i].Type, ID: refs[i].ID}
		if old := stored[refs[i]]; old != nil {
			cp := *old
			rec = &cp
		}
		eo, ed, err := items[i].applyTo(rec, false)
		if err == nil {
			err = a.eng.FillRecord(rec, eo, ed)
		}
		if err == nil {
			err = a.eng.ValidateRecord(rec)
		}
		recs[i], errs[i] = rec, err
	})
	for _, err := range errs {
		if err != nil && access.ErrorCode(err) == access.CodeInternal {
			return nil, nil, err
		}
	}
	return recs, errs, nil
}

// decodeItems decodes the upserts DecodeBatch cut out, on every core.
func (b *RecordBatch) decodeItems() error {
	if len(b.raw) == 0 {
		return nil
	}
	b.Upsert = make([]RecordUpdate, len(b.raw))
	errs := make([]error, len(b.raw))
	parallel.For(len(b.raw), func(i int) {
		errs[i] = json.Unmarshal(b.raw[i], &b.Upsert[i], json.RejectUnknownMembers(true))
	})
	b.raw = nil
	var bad []access.ItemError
	for i, err := range errs {
		if err != nil {
			bad = append(bad, access.ItemError{Index: i, Message: valueMessage(err)})
		}
	}
	if len(bad) > 0 {
		return batchInvalid(bad)
	}
	return nil
}

// batchStored returns the stored records the items merge with. An item
// that carries attributes replaces them, so for those only the rest of the
// record is read (an import mostly creates, and then this is one index
// probe per item).
func (a *App) batchStored(ctx context.Context, items []RecordUpdate, refs []access.Ref) (access.RecordMap, error) {
	var heads, full []access.Ref
	for i := range items {
		if items[i].Attributes.Set {
			heads = append(heads, refs[i])
		} else {
			full = append(full, refs[i])
		}
	}
	out, err := a.st.GetRecordHeads(ctx, heads)
	if err != nil || len(full) == 0 {
		return out, err
	}
	more, err := a.st.GetRecords(ctx, full)
	if err != nil {
		return nil, err
	}
	for ref, rec := range more {
		out[ref] = rec
	}
	return out, nil
}
