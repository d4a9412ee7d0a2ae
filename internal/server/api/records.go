package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The same /records paths serve staff (every record, every field) and
// external users (visible records only, hidden fields stripped before
// encoding). A record an external user cannot read is 404 whatever the
// method; one it can read but not change is 403 (DESIGN.md §2).

func (s *Surface) handleListRecords(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if format, err := exportFormat(r); err != nil || format != "" {
		if err != nil {
			return err
		}
		return s.exportRecords(w, r, c, format)
	}
	in, err := app.RecordListFromQuery(r.PathValue("type"), r.URL.Query())
	if err != nil {
		return err
	}
	in.Raw = true
	page, err := s.app.ListRecords(r.Context(), c, in)
	if err != nil {
		return err
	}
	writeRecordPage(w, http.StatusOK, page.Items, page.Staff, page.Next)
	return nil
}

func (s *Surface) handleGetRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rec, staff, err := s.app.GetRecord(r.Context(), c, r.PathValue("type"), r.PathValue("id"), r.URL.Query().Get("as_user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, surface.RecordJSON(rec, staff))
	return nil
}

// answer writes a record write's outcome: the record as the writer sees
// it, or 204 when it cannot read it back.
func answer(w http.ResponseWriter, res app.RecordWrite, status int) error {
	surface.Revision(w, res.Revision)
	if res.Record == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if status == 0 {
		status = created(res.Created)
	}
	writeJSON(w, status, surface.RecordJSON(res.Record, res.Staff))
	return nil
}

func (s *Surface) handlePutRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.RecordUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.app.PutRecord(r.Context(), c, r.PathValue("type"), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return answer(w, res, 0)
}

func (s *Surface) handlePatchRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.RecordUpdate
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.app.PatchRecord(r.Context(), c, r.PathValue("type"), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return answer(w, res, http.StatusOK)
}

func (s *Surface) handleCreateRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.RecordCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.app.CreateRecord(r.Context(), c, r.PathValue("type"), in)
	if err != nil {
		return err
	}
	return answer(w, res, http.StatusCreated)
}

func (s *Surface) handleDeleteRecord(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteRecord(r.Context(), c, r.PathValue("type"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

// handleBatch is the ERP's bulk sync; the body streams into the decoder.
func (s *Surface) handleBatch(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	res, err := s.app.BatchJSON(r.Context(), c, r.Body)
	if err != nil {
		return err
	}
	surface.Revision(w, res.Revision)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// readAll reads a whole body (the policy document), with the body limit's
// error.
func readAll(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r.Body); err != nil {
		return nil, decodeError(err)
	}
	return buf.Bytes(), nil
}
