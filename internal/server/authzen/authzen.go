// Package authzen is Portcullis' OpenID AuthZEN Authorization API 1.0
// surface (shared/design/interop.md §1): a Policy Decision Point that
// gateways, identity providers and applications speaking the standard can
// ask. It serves the metadata document (§ "Policy Decision Point
// Metadata"), the Access Evaluation and Access Evaluations APIs and the
// three Search APIs over the HTTPS JSON binding (§ "Transport"), and maps
// them onto the use cases of check, explain, viewers and the as_user lists
// (package app):
//
//   - subject {"type": "user", "id": <user id>}, action {"name": "read" |
//     "update" | "delete"}, resource {"type": <object type>, "id": <record
//     id>}; properties and context are accepted and not used: Portcullis
//     decides from its own data, its own PIP;
//   - a deny carries context.reason_admin, an object from explain's reason
//     codes to their sentences;
//   - a search answers every result, in a stable order (ids ascending), in
//     pages of page.limit (default and maximum 500) with page.next_token
//     ("" on the last page) and page.count.
//
// Like /api/v1/check it is for staff and integration tokens (Bearer); an
// external user gets 403, a request without valid credentials 401 with
// WWW-Authenticate. Errors are the status codes of § "Error Responses" with
// the message as a text/plain body. The X-Request-ID of a request is echoed
// on its response (§ "Request Identification").
package authzen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Paths of the API, the defaults of the specification's endpoint table.
const (
	MetadataPath       = "/.well-known/authzen-configuration"
	EvaluationPath     = "/access/v1/evaluation"
	EvaluationsPath    = "/access/v1/evaluations"
	SearchSubjectPath  = "/access/v1/search/subject"
	SearchResourcePath = "/access/v1/search/resource"
	SearchActionPath   = "/access/v1/search/action"
)

// MaxEvaluations is the largest evaluations array (as check:batch).
const MaxEvaluations = app.MaxChecks

// MaxPageLimit is the largest search page, and the size of a page when the
// request names no limit.
const MaxPageLimit = store.MaxListLimit

// Surface serves the AuthZEN API over one app.
type Surface struct {
	app       *app.App
	log       *slog.Logger
	publicURL string
}

// New returns the surface. publicURL is the server's public base URL
// (--public-url): the metadata's policy_decision_point and the base of its
// endpoints; when empty they are derived from each request's Host and
// scheme.
func New(a *app.App, log *slog.Logger, publicURL string) *Surface {
	return &Surface{app: a, log: log, publicURL: strings.TrimRight(publicURL, "/")}
}

// Routes lists the surface's routes. Their errors are written by
// WriteError, as the specification says.
func (s *Surface) Routes() []surface.Route {
	rts := []surface.Route{
		{Method: "GET", Pattern: MetadataPath, Public: true, Summary: "AuthZEN PDP metadata", Handle: s.handleMetadata},
		{Method: "POST", Pattern: EvaluationPath, Summary: "AuthZEN access evaluation", Handle: s.handleEvaluation},
		{Method: "POST", Pattern: EvaluationsPath, Summary: "AuthZEN access evaluations", Handle: s.handleEvaluations},
		{Method: "POST", Pattern: SearchSubjectPath, Summary: "AuthZEN subject search", Handle: s.handleSearchSubject},
		{Method: "POST", Pattern: SearchResourcePath, Summary: "AuthZEN resource search", Handle: s.handleSearchResource},
		{Method: "POST", Pattern: SearchActionPath, Summary: "AuthZEN action search", Handle: s.handleSearchAction},
	}
	for i := range rts {
		h := rts[i].Handle
		rts[i].Handle = func(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
			echoRequestID(w, r)
			w.Header().Set("Cache-Control", "no-store")
			return h(w, r, c)
		}
		rts[i].WriteError = s.WriteError
	}
	return rts
}

// echoRequestID copies the request's X-Request-ID onto the response: the
// PDP MUST include the PEP's identifier in its response.
func echoRequestID(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get("X-Request-ID"); id != "" {
		w.Header().Set("X-Request-ID", id)
	}
}

// statusOf maps domain codes to the statuses of the specification's error
// table (400, 401, 403, 500); the HTTP-level ones the server's chain may
// raise keep theirs, except an unsupported media type, which the binding
// answers with 400.
func statusOf(code string) int {
	switch code {
	case access.CodeInvalid, access.CodeInvalidField, surface.CodeUnsupportedMediaType:
		return http.StatusBadRequest
	}
	return surface.Status(code)
}

// WriteError writes err as the specification's error response: its status
// and the message as a plain string body. A 401 carries WWW-Authenticate
// (§ "Sender Authentication Failure"). An internal error is logged and the
// client learns only that something went wrong.
func (s *Surface) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	echoRequestID(w, r)
	e := surface.DomainError(err)
	if e == nil {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &access.Error{Code: access.CodeInternal, Message: "internal error"}
	}
	status := statusOf(e.Code)
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="portcullis"`)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(e.Message))
}

// invalid is a 400 Bad Request.
func invalid(format string, args ...any) error {
	return access.Errorf(access.CodeInvalid, format, args...)
}

// metadata is the PDP metadata document; absent endpoints would mean
// "not supported", so every one is listed.
type metadata struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint"`
	SearchSubjectEndpoint     string `json:"search_subject_endpoint"`
	SearchResourceEndpoint    string `json:"search_resource_endpoint"`
	SearchActionEndpoint      string `json:"search_action_endpoint"`
}

// baseURL is the PDP identifier: the public URL, or the request's scheme
// and Host. Forwarded headers are not trusted (as surface.ClientIP); set
// --public-url behind a proxy.
func (s *Surface) baseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Surface) handleMetadata(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	base := s.baseURL(r)
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, metadata{
		PolicyDecisionPoint:       base,
		AccessEvaluationEndpoint:  base + EvaluationPath,
		AccessEvaluationsEndpoint: base + EvaluationsPath,
		SearchSubjectEndpoint:     base + SearchSubjectPath,
		SearchResourceEndpoint:    base + SearchResourcePath,
		SearchActionEndpoint:      base + SearchActionPath,
	})
	return nil
}

// writeJSON answers 200 with v as application/json.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads the request body, which the binding requires to be a JSON
// object sent as application/json, into v. Unknown members are ignored
// (forward compatibility); a wrong content type, an empty or malformed
// body, a body that is not an object or a member of the wrong JSON type is
// 400.
func decode(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return invalid("the request's Content-Type must be application/json")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r.Body); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return access.Errorf(access.CodeTooLarge, "the request body is too large")
		}
		return invalid("the request body could not be read")
	}
	body := bytes.TrimSpace(buf.Bytes())
	if len(body) == 0 {
		return invalid("the request body is empty")
	}
	if body[0] != '{' {
		return invalid("the request body must be a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalid("%s has the wrong JSON type", te.Field)
		}
		return invalid("the request body is not valid JSON")
	}
	return nil
}

// entity is a subject or a resource (§ "Subject", § "Resource"). Pointers
// tell a missing member from an empty one; properties must be an object.
type entity struct {
	Type       *string        `json:"type"`
	ID         *string        `json:"id"`
	Properties map[string]any `json:"properties,omitempty"`
}

// action is an action (§ "Action").
type action struct {
	Name       *string        `json:"name"`
	Properties map[string]any `json:"properties,omitempty"`
}

// need checks that the entity is present with a non-empty type and,
// when withID, a non-empty id; what names it in the error.
func (e *entity) need(what string, withID bool) error {
	switch {
	case e == nil:
		return invalid("%s is required", what)
	case e.Type == nil || *e.Type == "":
		return invalid("%s.type is required", what)
	case withID && (e.ID == nil || *e.ID == ""):
		return invalid("%s.id is required", what)
	}
	return nil
}

func (a *action) need() error {
	switch {
	case a == nil:
		return invalid("action is required")
	case a.Name == nil || *a.Name == "":
		return invalid("action.name is required")
	}
	return nil
}

// evalRequest is an Access Evaluation request (§ "The Access Evaluation
// API Request") and an item of an evaluations array.
type evalRequest struct {
	Subject  *entity        `json:"subject,omitempty"`
	Action   *action        `json:"action,omitempty"`
	Resource *entity        `json:"resource,omitempty"`
	Context  map[string]any `json:"context,omitempty"`
}

// validate checks that the request is a complete evaluation.
func (q *evalRequest) validate() error {
	if err := q.Subject.need("subject", true); err != nil {
		return err
	}
	if err := q.Action.need(); err != nil {
		return err
	}
	return q.Resource.need("resource", true)
}

// decision is a Decision (§ "Decision"): the boolean and, for a deny or a
// failed item, a context.
type decision struct {
	Decision bool             `json:"decision"`
	Context  *decisionContext `json:"context,omitempty"`
}

// decisionContext carries why a decision is a deny: reason_admin maps
// explain's reason codes to their sentences (the caller is staff: the
// reasons are for administrators, not for the end user); error is a failed
// item of an evaluations array, as the specification's example shapes it.
type decisionContext struct {
	ReasonAdmin map[string]string `json:"reason_admin,omitempty"`
	Error       *itemError        `json:"error,omitempty"`
}

type itemError struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// evaluate decides one complete evaluation. The subject type must be
// user: any other subject is denied with the reason unknown_subject_type.
func (s *Surface) evaluate(r *http.Request, c *app.Actor, q *evalRequest) (decision, error) {
	if *q.Subject.Type != "user" {
		return decision{Context: &decisionContext{ReasonAdmin: map[string]string{
			"unknown_subject_type": fmt.Sprintf("subjects are of type user, not %q", *q.Subject.Type)}}}, nil
	}
	res, err := s.app.Evaluate(r.Context(), c, app.Evaluation{User: *q.Subject.ID, Action: *q.Action.Name, Type: *q.Resource.Type, ID: *q.Resource.ID})
	if err != nil {
		return decision{}, err
	}
	if res.Allowed {
		return decision{Decision: true}, nil
	}
	reasons := map[string]string{}
	for _, rs := range res.Reasons {
		if m, ok := reasons[rs.Code]; ok {
			reasons[rs.Code] = m + "; " + rs.Message
		} else {
			reasons[rs.Code] = rs.Message
		}
	}
	d := decision{}
	if len(reasons) > 0 {
		d.Context = &decisionContext{ReasonAdmin: reasons}
	}
	return d, nil
}

// handleEvaluation answers an Access Evaluation: 200 with the decision,
// 400 when a required member is missing.
func (s *Surface) handleEvaluation(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var q evalRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	if err := q.validate(); err != nil {
		return err
	}
	d, err := s.evaluate(r, c, &q)
	if err != nil {
		return err
	}
	writeJSON(w, d)
	return nil
}

// evalsRequest is an Access Evaluations request (§ "The Access
// Evaluations API Request"): the top-level members are the defaults of the
// evaluations. Items are decoded one by one, so that a malformed item
// fails alone.
type evalsRequest struct {
	evalRequest
	Evaluations []json.RawMessage `json:"evaluations"`
	Options     *struct {
		Semantic *string `json:"evaluations_semantic"`
	} `json:"options"`
}

// The evaluations semantics (§ "Evaluations semantics").
const (
	executeAll          = "execute_all"
	denyOnFirstDeny     = "deny_on_first_deny"
	permitOnFirstPermit = "permit_on_first_permit"
)

type evalsResponse struct {
	Evaluations []decision `json:"evaluations"`
}

// handleEvaluations answers an Access Evaluations request. Without
// evaluations (absent or empty) it is an Access Evaluation of the
// top-level members. Otherwise each item takes a top-level subject,
// action, resource or context it omits, whole (no merging inside an
// entity), and the answers come in request order: all of them
// (execute_all, the default), or up to and including the first deny
// (deny_on_first_deny) or the first permit (permit_on_first_permit). An
// item that is not a complete evaluation is a deny with context.error
// (status 400) and counts as a deny for the short-circuits. More than
// MaxEvaluations items or an unknown semantic is 400.
func (s *Surface) handleEvaluations(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var q evalsRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	semantic := executeAll
	if q.Options != nil && q.Options.Semantic != nil {
		semantic = *q.Options.Semantic
	}
	switch semantic {
	case executeAll, denyOnFirstDeny, permitOnFirstPermit:
	default:
		return invalid("options.evaluations_semantic must be execute_all, deny_on_first_deny or permit_on_first_permit")
	}
	if len(q.Evaluations) == 0 {
		if err := q.validate(); err != nil {
			return err
		}
		d, err := s.evaluate(r, c, &q.evalRequest)
		if err != nil {
			return err
		}
		writeJSON(w, d)
		return nil
	}
	if len(q.Evaluations) > MaxEvaluations {
		return invalid("at most %d evaluations per request", MaxEvaluations)
	}
	out := evalsResponse{Evaluations: make([]decision, 0, len(q.Evaluations))}
	for i, raw := range q.Evaluations {
		d, err := s.item(r, c, &q.evalRequest, raw, i)
		if err != nil {
			return err
		}
		out.Evaluations = append(out.Evaluations, d)
		if (semantic == denyOnFirstDeny && !d.Decision) || (semantic == permitOnFirstPermit && d.Decision) {
			break
		}
	}
	writeJSON(w, out)
	return nil
}

// item decides evaluations[i] with the defaults def. Only an internal
// error fails the request; a bad item is a deny with its error.
func (s *Surface) item(r *http.Request, c *app.Actor, def *evalRequest, raw json.RawMessage, i int) (decision, error) {
	fail := func(err error) (decision, error) {
		return decision{Context: &decisionContext{Error: &itemError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("evaluations[%d]: %s", i, surface.DomainError(err).Message)}}}, nil
	}
	var q evalRequest
	if b := bytes.TrimSpace(raw); len(b) == 0 || b[0] != '{' {
		return fail(invalid("an evaluation must be a JSON object"))
	}
	if err := json.Unmarshal(raw, &q); err != nil {
		return fail(invalid("the evaluation has a member of the wrong JSON type"))
	}
	if q.Subject == nil {
		q.Subject = def.Subject
	}
	if q.Action == nil {
		q.Action = def.Action
	}
	if q.Resource == nil {
		q.Resource = def.Resource
	}
	if q.Context == nil {
		q.Context = def.Context
	}
	if err := q.validate(); err != nil {
		return fail(err)
	}
	d, err := s.evaluate(r, c, &q)
	if err != nil && surface.DomainError(err) != nil && access.ErrorCode(err) == access.CodeInvalid {
		return fail(err)
	}
	return d, err
}
