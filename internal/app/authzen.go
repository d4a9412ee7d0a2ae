package app

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The AuthZEN use cases (OpenID AuthZEN Authorization API 1.0, see
// shared/design/interop.md §1) ask the questions of check, explain, viewers
// and the as_user lists in the standard's terms: a subject (a Portcullis
// user id), an action (read, update, delete) and a resource (a record of an
// object type). Like check they are for staff and integration tokens;
// external users get CodeForbidden. A question about something Portcullis
// does not know (a user, an object type, an action, a record) is not an
// error: it is a deny, or an empty search, with a reason where one is
// answered, as the standard's PEPs expect.

// Deny reasons of AuthZEN evaluations beyond the explain codes of
// DESIGN.md §2: the question names something that does not exist.
const (
	ReasonUnknownUser   = "unknown_user"
	ReasonUnknownType   = "unknown_type"
	ReasonUnknownAction = "unknown_action"
	ReasonNotFound      = "not_found"
)

// Evaluation is one AuthZEN access evaluation: may User do Action on the
// record Type/ID?
type Evaluation struct {
	User, Action, Type, ID string
}

// EvaluationResult is an evaluation's decision and, for a deny, every
// reason (explain's codes, or one of the Reason* codes above).
type EvaluationResult struct {
	Allowed bool
	Reasons []access.Reason
}

// Evaluate decides one evaluation exactly as Check does (the same engine
// decision on the same record) and, for a deny, gives explain's reasons.
// It is for staff and integration tokens (CodeForbidden otherwise); an
// unknown user, type, action or record is a deny with a reason, not an
// error.
func (a *App) Evaluate(ctx context.Context, c *Actor, in Evaluation) (EvaluationResult, error) {
	if err := requireStaff(c); err != nil {
		return EvaluationResult{}, err
	}
	deny := func(code, format string, args ...any) (EvaluationResult, error) {
		a.obs.Decision(false)
		return EvaluationResult{Reasons: []access.Reason{{Code: code, Message: fmt.Sprintf(format, args...)}}}, nil
	}
	act, ok := policy.ParseAction(in.Action)
	if !ok || act == policy.Create {
		return deny(ReasonUnknownAction, "action %q is not read, update or delete", in.Action)
	}
	if _, ok := a.eng.User(in.User); !ok {
		return deny(ReasonUnknownUser, "user %q does not exist", in.User)
	}
	if a.eng.Policy().Type(in.Type) == nil {
		return deny(ReasonUnknownType, "unknown object type %q", in.Type)
	}
	rec, err := a.st.GetRecord(ctx, in.Type, in.ID)
	if access.ErrorCode(err) == access.CodeNotFound {
		return deny(ReasonNotFound, "record %s/%s does not exist", in.Type, in.ID)
	}
	if err != nil {
		return EvaluationResult{}, err
	}
	src, err := a.source(ctx, rec)
	if err != nil {
		return EvaluationResult{}, err
	}
	allowed, _ := a.eng.Check(in.User, rec, act, src)
	a.obs.Decision(allowed)
	if allowed {
		return EvaluationResult{Allowed: true}, nil
	}
	x, err := a.eng.Explain(in.User, rec, act, src)
	if err != nil {
		return EvaluationResult{}, err
	}
	// A change between the decision and the explanation can make them
	// disagree; the decision stands.
	return EvaluationResult{Reasons: x.Reasons}, nil
}

// ResourceSearch asks for the records of Type that User may do Action on,
// one page at a time.
type ResourceSearch struct {
	User, Action, Type string
	ListParams
}

// SearchResources pages through the ids of the records of in.Type that
// in.User may do in.Action on, in id order, with the store's keyset cursor
// (Page.Next, "" on the last page). For read it is exactly the as_user list
// (ListRecords sorted by id); for update and delete the store's query
// selects with the engine's predicate for that action and the engine
// decides every row again, so a page may come out shorter than the limit
// but no record is missing from the whole. It is for staff and integration
// tokens (CodeForbidden otherwise); an unknown user, type or action is an
// empty page, a cursor of another query CodeInvalid.
func (a *App) SearchResources(ctx context.Context, c *Actor, in ResourceSearch) (Page[string], error) {
	if err := requireStaff(c); err != nil {
		return Page[string]{}, err
	}
	act, ok := policy.ParseAction(in.Action)
	if _, known := a.eng.User(in.User); !ok || act == policy.Create || !known || a.eng.Policy().Type(in.Type) == nil {
		return Page[string]{Items: []string{}}, nil
	}
	if act == policy.Read {
		page, err := a.ListRecords(ctx, c, RecordList{Type: in.Type, AsUser: in.User, Sort: "id", ListParams: in.ListParams})
		if err != nil {
			return Page[string]{}, err
		}
		out := Page[string]{Items: make([]string, len(page.Items)), Next: page.Next}
		for i, r := range page.Items {
			out.Items[i] = r.ID
		}
		return out, nil
	}
	pred, err := a.eng.Predicate(in.User, in.Type, act)
	if err != nil {
		return Page[string]{}, err
	}
	start := time.Now()
	recs, next, err := a.st.ListRecords(ctx, store.RecordQuery{Type: in.Type, Predicate: pred, Sort: "id", Limit: in.limit(), Cursor: in.Cursor})
	a.obs.ListQuery(time.Since(start))
	if err != nil {
		return Page[string]{}, err
	}
	src, err := a.source(ctx, recs...)
	if err != nil {
		return Page[string]{}, err
	}
	out := Page[string]{Items: make([]string, 0, len(recs)), Next: next}
	for _, r := range recs {
		if a.eng.Allowed(in.User, r, act, src) {
			out.Items = append(out.Items, r.ID)
		}
	}
	return out, nil
}

// SubjectSearch asks for the users who may do Action on the record
// Type/ID, one page at a time.
type SubjectSearch struct {
	Action, Type, ID string
	ListParams
}

// SearchSubjects pages through the ids of the external users who may do
// in.Action on the record in.Type/in.ID, in id order (Page.Next, "" on the
// last page): for read exactly Viewers, for update and delete the engine's
// Permitted. Staff are not listed: they may do everything (auditors read).
// It is for staff and integration tokens (CodeForbidden otherwise); an
// unknown type, action or record is an empty page, a bad cursor
// CodeInvalid.
func (a *App) SearchSubjects(ctx context.Context, c *Actor, in SubjectSearch) (Page[string], error) {
	if err := requireStaff(c); err != nil {
		return Page[string]{}, err
	}
	empty := Page[string]{Items: []string{}}
	act, ok := policy.ParseAction(in.Action)
	if !ok || act == policy.Create || a.eng.Policy().Type(in.Type) == nil {
		return empty, nil
	}
	if act == policy.Read {
		page, err := a.Viewers(ctx, c, in.Type, in.ID, in.ListParams)
		if access.ErrorCode(err) == access.CodeNotFound {
			return empty, nil
		}
		if err != nil {
			return Page[string]{}, err
		}
		out := Page[string]{Items: make([]string, len(page.Items)), Next: page.Next}
		for i, v := range page.Items {
			out.Items[i] = v.User
		}
		return out, nil
	}
	after := ""
	if in.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.Cursor)
		if err != nil {
			return Page[string]{}, access.FieldErrorf(access.CodeInvalid, "cursor", "cursor is not valid")
		}
		after = string(b)
	}
	rec, err := a.st.GetRecord(ctx, in.Type, in.ID)
	if access.ErrorCode(err) == access.CodeNotFound {
		return empty, nil
	}
	if err != nil {
		return Page[string]{}, err
	}
	src, err := a.source(ctx, rec)
	if err != nil {
		return Page[string]{}, err
	}
	out := empty
	limit := in.limit()
	for _, id := range a.eng.Permitted(rec, act, src) {
		if id <= after {
			continue
		}
		if len(out.Items) == limit {
			out.Next = base64.RawURLEncoding.EncodeToString([]byte(out.Items[len(out.Items)-1]))
			break
		}
		out.Items = append(out.Items, id)
	}
	return out, nil
}

// DecisionActions are the actions AuthZEN evaluations and action searches
// know, in the order action searches list them.
var DecisionActions = []string{policy.ActionRead, policy.ActionUpdate, policy.ActionDelete}

// SearchActions lists which of read, update and delete (in that order)
// user may do on the record typ/id, each decided as Check decides. It is
// for staff and integration tokens (CodeForbidden otherwise); an unknown
// user, type or record permits nothing.
func (a *App) SearchActions(ctx context.Context, c *Actor, user, typ, id string) ([]string, error) {
	if err := requireStaff(c); err != nil {
		return nil, err
	}
	out := []string{}
	if _, ok := a.eng.User(user); !ok || a.eng.Policy().Type(typ) == nil {
		return out, nil
	}
	for _, name := range DecisionActions {
		res, err := a.check(ctx, CheckRequest{User: user, Action: name, Type: typ, ID: id})
		if err != nil {
			return nil, err
		}
		if res.Allowed {
			out = append(out, name)
		}
	}
	return out, nil
}
