package server

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Check, explain and viewers answer access questions about any user: they
// are for staff and integration tokens; external users get 403.

type checkRequest struct {
	User        string `json:"user"`
	Action      string `json:"action"`
	Type        string `json:"type"`
	ID          string `json:"id"`
	MinRevision int64  `json:"min_revision,omitempty"`
}

type checkResult struct {
	Allowed  bool     `json:"allowed"`
	Fields   []string `json:"fields"`
	Revision int64    `json:"revision"`
}

// parseDecisionAction accepts read, update and delete (DESIGN.md §2).
func parseDecisionAction(name string) (policy.Actions, error) {
	if name == "" {
		return policy.Read, nil
	}
	a, ok := policy.ParseAction(name)
	if !ok || a == policy.Create {
		return 0, access.Errorf(access.CodeInvalid, "action must be read, update or delete")
	}
	return a, nil
}

// check answers one check. A record that does not exist is simply not
// allowed; an unknown user or type is invalid.
func (s *Server) check(ctx context.Context, req checkRequest) (checkResult, error) {
	a, err := parseDecisionAction(req.Action)
	if err != nil {
		return checkResult{}, err
	}
	if _, ok := s.engine.User(req.User); !ok {
		return checkResult{}, access.Errorf(access.CodeInvalid, "user %q does not exist", req.User)
	}
	if s.engine.Policy().Type(req.Type) == nil {
		return checkResult{}, access.Errorf(access.CodeInvalid, "unknown object type %q", req.Type)
	}
	res := checkResult{Fields: []string{}, Revision: s.store.Revision()}
	rec, err := s.store.GetRecord(ctx, req.Type, req.ID)
	if access.ErrorCode(err) == access.CodeNotFound {
		s.metrics.decision(false)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	src, err := s.source(ctx, rec)
	if err != nil {
		return res, err
	}
	ok, fields := s.engine.Check(req.User, rec, a, src)
	s.metrics.decision(ok)
	res.Allowed = ok
	if fields != nil {
		res.Fields = fields
	}
	return res, nil
}

func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	var req checkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.MinRevision > 0 {
		if err := s.waitRevision(r.Context(), strconv.FormatInt(req.MinRevision, 10)); err != nil {
			return err
		}
	}
	res, err := s.check(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

type checkBatchRequest struct {
	Checks      []checkRequest `json:"checks"`
	MinRevision int64          `json:"min_revision,omitempty"`
}

// handleCheckBatch answers up to 1,000 checks in order; a bad check fails
// the request with its index.
func (s *Server) handleCheckBatch(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	var req checkBatchRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.Checks) > 1000 {
		return access.Errorf(access.CodeInvalid, "at most 1000 checks per batch")
	}
	if req.MinRevision > 0 {
		if err := s.waitRevision(r.Context(), strconv.FormatInt(req.MinRevision, 10)); err != nil {
			return err
		}
	}
	results := make([]checkResult, 0, len(req.Checks))
	var bad []access.ItemError
	for i, ch := range req.Checks {
		res, err := s.check(r.Context(), ch)
		if err != nil {
			if access.ErrorCode(err) == access.CodeInternal {
				return err
			}
			bad = append(bad, access.ItemError{Index: i, Message: errMessage(err)})
			continue
		}
		results = append(results, res)
	}
	if len(bad) > 0 {
		return &access.Error{Code: access.CodeInvalid, Message: "some checks are invalid", Items: bad}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

func (s *Server) handleExplain(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	q := r.URL.Query()
	x, _, err := s.explain(r.Context(), q.Get("user"), q.Get("type"), q.Get("id"), q.Get("action"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

// explain answers "may user do action on the record, and why": an unknown
// user or type is invalid, a missing record not_found. It returns the
// record too. Shared by the API and the console's access checker.
func (s *Server) explain(ctx context.Context, user, typ, id, action string) (*access.Explanation, *access.Record, error) {
	a, err := parseDecisionAction(action)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := s.engine.User(user); !ok {
		return nil, nil, access.Errorf(access.CodeInvalid, "user %q does not exist", user)
	}
	if s.engine.Policy().Type(typ) == nil {
		return nil, nil, access.Errorf(access.CodeInvalid, "unknown object type %q", typ)
	}
	rec, err := s.store.GetRecord(ctx, typ, id)
	if err != nil {
		return nil, nil, err
	}
	src, err := s.source(ctx, rec)
	if err != nil {
		return nil, nil, err
	}
	x, err := s.engine.Explain(user, rec, a, src)
	return x, rec, err
}

// handleViewers lists who can read a record, paged by user id.
func (s *Server) handleViewers(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	t, err := s.recordType(r)
	if err != nil {
		return err
	}
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	after := ""
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil {
			return access.Errorf(access.CodeInvalid, "cursor is not valid")
		}
		after = string(b)
	}
	rec, err := s.store.GetRecord(r.Context(), t.Name, r.PathValue("id"))
	if err != nil {
		return err
	}
	src, err := s.source(r.Context(), rec)
	if err != nil {
		return err
	}
	var page []access.Viewer
	next := ""
	for _, v := range s.engine.Viewers(rec, src) {
		if v.User <= after {
			continue
		}
		if len(page) == limit {
			next = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].User))
			break
		}
		page = append(page, v)
	}
	writeJSON(w, http.StatusOK, newList(page, next))
	return nil
}
