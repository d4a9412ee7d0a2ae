package client

import (
	"context"
	"net/url"
	"strconv"
)

// CheckRequest asks whether User may do Action (read, create, update,
// delete) on the record Type/ID.
type CheckRequest struct {
	User        string `json:"user"`
	Action      string `json:"action"`
	Type        string `json:"type"`
	ID          string `json:"id"`
	MinRevision int64  `json:"min_revision,omitempty"`
}

// CheckResult is a check's answer: Fields are the restricted fields the
// user sees on the record.
type CheckResult struct {
	Allowed  bool     `json:"allowed"`
	Fields   []string `json:"fields"`
	Revision int64    `json:"revision"`
}

// Check answers one access question (staff and tokens).
func (c *Client) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	var out CheckResult
	_, err := c.do(ctx, "POST", "/api/v1/check", nil, req, &out)
	return out, err
}

// CheckBatch answers up to 1,000 checks, in order, at one revision at
// least minRevision (0: any).
func (c *Client) CheckBatch(ctx context.Context, checks []CheckRequest, minRevision int64) ([]CheckResult, error) {
	in := struct {
		Checks      []CheckRequest `json:"checks"`
		MinRevision int64          `json:"min_revision,omitempty"`
	}{checks, minRevision}
	var out struct {
		Results []CheckResult `json:"results"`
	}
	_, err := c.do(ctx, "POST", "/api/v1/check:batch", nil, in, &out)
	return out.Results, err
}

// Path is one way a user reaches a record.
type Path struct {
	Kind    string `json:"kind"`
	Grant   string `json:"grant,omitempty"`
	Account string `json:"account,omitempty"`
	Role    string `json:"role,omitempty"`
	Access  string `json:"access,omitempty"`
	Via     string `json:"via,omitempty"`
}

// Reason is why an action is denied.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Explanation says why a user may or may not do an action.
type Explanation struct {
	Allowed bool     `json:"allowed"`
	Paths   []Path   `json:"paths"`
	Reasons []Reason `json:"reasons"`
	Fields  struct {
		Visible []string `json:"visible"`
		Hidden  []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"hidden"`
	} `json:"fields"`
}

// Explain says why user may or may not do action on typ/id (staff).
func (c *Client) Explain(ctx context.Context, user, action, typ, id string) (Explanation, error) {
	q := url.Values{"user": {user}, "action": {action}, "type": {typ}, "id": {id}}
	var out Explanation
	_, err := c.do(ctx, "GET", "/api/v1/explain", q, nil, &out)
	return out, err
}

// Viewer is an external user who can read a record, with its paths.
type Viewer struct {
	User  string `json:"user"`
	Paths []Path `json:"paths"`
}

// Viewers returns every external user who can read typ/id (staff), all
// pages.
func (c *Client) Viewers(ctx context.Context, typ, id string) ([]Viewer, error) {
	var all []Viewer
	cursor := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(500)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p Page[Viewer]
		if _, err := c.do(ctx, "GET", recordPath(typ, id)+"/viewers", q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Items...)
		if p.Next == "" {
			return all, nil
		}
		cursor = p.Next
	}
}
