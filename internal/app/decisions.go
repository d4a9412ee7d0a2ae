package app

import (
	"context"
	"encoding/base64"
	"errors"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/policy"
)

// Check, explain and viewers answer access questions about any user: they
// are for staff and integration tokens; external users get CodeForbidden.

// CheckRequest asks whether User may do Action (read, update, delete;
// default read) on the record Type/ID.
type CheckRequest struct {
	User        string `json:"user"`
	Action      string `json:"action"`
	Type        string `json:"type"`
	ID          string `json:"id"`
	MinRevision int64  `json:"min_revision,omitempty"`
}

// CheckResult is a check's answer: whether it is allowed, the restricted
// fields the user may see, and the revision it was decided at.
type CheckResult struct {
	Allowed  bool     `json:"allowed"`
	Fields   []string `json:"fields"`
	Revision int64    `json:"revision"`
}

// MaxChecks is the largest check batch.
const MaxChecks = 1000

// parseDecisionAction accepts read, update and delete (DESIGN.md §2).
func parseDecisionAction(name string) (policy.Actions, error) {
	if name == "" {
		return policy.Read, nil
	}
	act, ok := policy.ParseAction(name)
	if !ok || act == policy.Create {
		return 0, access.FieldErrorf(access.CodeInvalid, "action", "action must be read, update or delete")
	}
	return act, nil
}

// Check answers one check once this node reflects MinRevision. A record
// that does not exist is simply not allowed; an unknown user or type is
// CodeInvalid.
func (a *App) Check(ctx context.Context, c *Actor, req CheckRequest) (CheckResult, error) {
	if err := requireStaff(c); err != nil {
		return CheckResult{}, err
	}
	if err := a.AwaitRevision(ctx, req.MinRevision); err != nil {
		return CheckResult{}, err
	}
	return a.check(ctx, req)
}

// CheckBatch answers up to MaxChecks checks in order, once this node
// reflects minRevision; a bad check fails the whole request with
// CodeInvalid and its index in Items.
func (a *App) CheckBatch(ctx context.Context, c *Actor, checks []CheckRequest, minRevision int64) ([]CheckResult, error) {
	if err := requireStaff(c); err != nil {
		return nil, err
	}
	if len(checks) > MaxChecks {
		return nil, access.Errorf(access.CodeInvalid, "at most %d checks per batch", MaxChecks)
	}
	if err := a.AwaitRevision(ctx, minRevision); err != nil {
		return nil, err
	}
	// Every check is validated first; then the heads of all the records
	// and of their parents are read in one query per type and hop.
	acts := make([]policy.Actions, len(checks))
	var bad []access.ItemError
	refs := make([]access.Ref, 0, len(checks))
	for i, ch := range checks {
		act, err := a.checkable(ch)
		if err != nil {
			bad = append(bad, access.ItemError{Index: i, Message: message(err)})
			continue
		}
		acts[i] = act
		refs = append(refs, access.Ref{Type: ch.Type, ID: ch.ID})
	}
	if len(bad) > 0 {
		return nil, &access.Error{Code: access.CodeInvalid, Message: "some checks are invalid", Items: bad}
	}
	src, err := a.heads(ctx, refs)
	if err != nil {
		return nil, err
	}
	rev := a.st.Revision()
	results := make([]CheckResult, len(checks))
	for i, ch := range checks {
		results[i] = a.decide(ch.User, src[access.Ref{Type: ch.Type, ID: ch.ID}], acts[i], src, rev)
	}
	return results, nil
}

// checkable validates a check: its action, user and type.
func (a *App) checkable(req CheckRequest) (policy.Actions, error) {
	act, err := parseDecisionAction(req.Action)
	if err != nil {
		return 0, err
	}
	if _, ok := a.eng.User(req.User); !ok {
		return 0, access.FieldErrorf(access.CodeInvalid, "user", "user %q does not exist", req.User)
	}
	if a.eng.Policy().Type(req.Type) == nil {
		return 0, access.FieldErrorf(access.CodeInvalid, "type", "unknown object type %q", req.Type)
	}
	return act, nil
}

// heads reads the heads of the records refs (those that exist) and of
// their parents up to the sharing hop limit: what a decision reads. They
// may come from the store's head cache and are shared: read only.
func (a *App) heads(ctx context.Context, refs []access.Ref) (access.RecordMap, error) {
	return a.st.DecisionHeads(ctx, refs, access.MaxSharingHops)
}

// decide answers one validated check on rec (nil: missing, not allowed).
func (a *App) decide(user string, rec *access.Record, act policy.Actions, src access.RecordMap, rev int64) CheckResult {
	res := CheckResult{Fields: []string{}, Revision: rev}
	if rec == nil {
		a.obs.Decision(false)
		return res
	}
	ok, fields := a.eng.Check(user, rec, act, src)
	a.obs.Decision(ok)
	res.Allowed = ok
	if fields != nil {
		res.Fields = fields
	}
	return res
}

func (a *App) check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	act, err := a.checkable(req)
	if err != nil {
		return CheckResult{}, err
	}
	ref := access.Ref{Type: req.Type, ID: req.ID}
	rev := a.st.Revision()
	src, err := a.heads(ctx, []access.Ref{ref})
	if err != nil {
		return CheckResult{Fields: []string{}, Revision: rev}, err
	}
	return a.decide(req.User, src[ref], act, src, rev), nil
}

// message is an error's message for a batch item.
func message(err error) string {
	var e *access.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "invalid item"
}

// ExplainRequest asks why User may or may not do Action on Type/ID.
type ExplainRequest struct {
	User, Type, ID, Action string
}

// Explain answers "may the user do the action on the record, and why",
// with the record: an unknown user or type is CodeInvalid, a missing
// record CodeNotFound.
func (a *App) Explain(ctx context.Context, c *Actor, req ExplainRequest) (*access.Explanation, *access.Record, error) {
	if err := requireStaff(c); err != nil {
		return nil, nil, err
	}
	act, err := parseDecisionAction(req.Action)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := a.eng.User(req.User); !ok {
		return nil, nil, access.FieldErrorf(access.CodeInvalid, "user", "user %q does not exist", req.User)
	}
	if a.eng.Policy().Type(req.Type) == nil {
		return nil, nil, access.FieldErrorf(access.CodeInvalid, "type", "unknown object type %q", req.Type)
	}
	rec, err := a.st.GetRecord(ctx, req.Type, req.ID)
	if err != nil {
		return nil, nil, err
	}
	src, err := a.source(ctx, rec)
	if err != nil {
		return nil, nil, err
	}
	x, err := a.eng.Explain(req.User, rec, act, src)
	return x, rec, err
}

// Viewers lists who can read a record and how, paged by user id (staff);
// an unknown type or record is CodeNotFound.
func (a *App) Viewers(ctx context.Context, c *Actor, typ, id string, p ListParams) (Page[access.Viewer], error) {
	if err := requireStaff(c); err != nil {
		return Page[access.Viewer]{}, err
	}
	t, err := a.recordType(typ)
	if err != nil {
		return Page[access.Viewer]{}, err
	}
	after := ""
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		if err != nil {
			return Page[access.Viewer]{}, access.FieldErrorf(access.CodeInvalid, "cursor", "cursor is not valid")
		}
		after = string(b)
	}
	ref := access.Ref{Type: t.Name, ID: id}
	src, err := a.heads(ctx, []access.Ref{ref})
	if err != nil {
		return Page[access.Viewer]{}, err
	}
	rec := src[ref]
	if rec == nil {
		return Page[access.Viewer]{}, access.Errorf(access.CodeNotFound, "%s %s not found", t.Name, id)
	}
	var page Page[access.Viewer]
	limit := p.limit()
	for _, v := range a.eng.Viewers(rec, src) {
		if v.User <= after {
			continue
		}
		if len(page.Items) == limit {
			page.Next = base64.RawURLEncoding.EncodeToString([]byte(page.Items[len(page.Items)-1].User))
			break
		}
		page.Items = append(page.Items, v)
	}
	return page, nil
}
