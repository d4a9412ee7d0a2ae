package authzen

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/portcullis-dev/portcullis/internal/app"
)

// The Search APIs (§ "Search APIs"). Every search answers its complete
// result set, in ascending id order (actions: read, update, delete), in
// pages: page.limit results at most (absent or 0: MaxPageLimit; above it:
// MaxPageLimit), page.next_token to ask for the next page ("" on the last)
// and page.count, the number of results in this page. A page token is only
// good for the request it continues: every entity, the context and the
// limit must be the same (§ "Pagination": PDPs SHOULD return an error),
// else 400. The searched-for entity's id is ignored, as the specification
// says. A search about something Portcullis does not know (a subject type
// other than user, an unknown user, object type, action or record) answers
// no results.

// searchRequest is a Subject, Resource or Action Search request.
type searchRequest struct {
	Subject  *entity        `json:"subject,omitempty"`
	Action   *action        `json:"action,omitempty"`
	Resource *entity        `json:"resource,omitempty"`
	Context  map[string]any `json:"context,omitempty"`
	Page     *pageRequest   `json:"page,omitempty"`
}

// pageRequest is a Paginated Request's page object.
type pageRequest struct {
	Token *string `json:"token,omitempty"`
	Limit *int    `json:"limit,omitempty"`
}

// pageResponse is a Paginated Response's page object.
type pageResponse struct {
	NextToken string `json:"next_token"`
	Count     int    `json:"count"`
}

// searchResponse is a Search API Response, page first as RECOMMENDED.
type searchResponse[T any] struct {
	Page    pageResponse `json:"page"`
	Results []T          `json:"results"`
}

// ref is a subject or resource in search results.
type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// actionName is an action in search results.
type actionName struct {
	Name string `json:"name"`
}

// pageToken is what a next_token carries: the fingerprint of the request
// it continues and the use case's cursor.
type pageToken struct {
	Request string `json:"q"`
	Cursor  string `json:"c"`
}

// paging reads the request's page: the limit for the use case and the
// cursor of its token, checked against the request's fingerprint.
func (q *searchRequest) paging(endpoint string) (app.ListParams, string, error) {
	p := app.ListParams{Limit: MaxPageLimit}
	if q.Page != nil && q.Page.Limit != nil {
		switch n := *q.Page.Limit; {
		case n < 0:
			return p, "", invalid("page.limit must be a non-negative integer")
		case n > 0 && n < MaxPageLimit:
			p.Limit = n
		}
	}
	fp := q.fingerprint(endpoint)
	if q.Page != nil && q.Page.Token != nil && *q.Page.Token != "" {
		b, err := base64.RawURLEncoding.DecodeString(*q.Page.Token)
		var tok pageToken
		if err != nil || json.Unmarshal(b, &tok) != nil || tok.Cursor == "" {
			return p, "", invalid("page.token is not a token of this PDP")
		}
		if tok.Request != fp {
			return p, "", invalid("page.token belongs to another request: the subject, action, resource, context and page.limit must stay the same while paging")
		}
		p.Cursor = tok.Cursor
	}
	return p, fp, nil
}

// fingerprint identifies a search request apart from its page token: the
// endpoint, the entities (without the ignored id of the searched-for one),
// the context and the limit, re-encoded so that member order and spacing
// do not matter.
func (q *searchRequest) fingerprint(endpoint string) string {
	c := *q
	strip := func(e *entity) *entity {
		if e == nil {
			return nil
		}
		x := *e
		x.ID = nil
		return &x
	}
	switch endpoint {
	case SearchSubjectPath:
		c.Subject = strip(c.Subject)
	case SearchResourcePath:
		c.Resource = strip(c.Resource)
	}
	c.Page = nil
	var limit *int
	if q.Page != nil {
		limit = q.Page.Limit
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(struct {
		E string        `json:"e"`
		Q searchRequest `json:"q"`
		L *int          `json:"l"`
	}{endpoint, c, limit})
	sum := sha256.Sum256(buf.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// nextToken wraps the use case's cursor ("" on the last page).
func nextToken(fp, cursor string) string {
	if cursor == "" {
		return ""
	}
	b, _ := json.Marshal(pageToken{Request: fp, Cursor: cursor})
	return base64.RawURLEncoding.EncodeToString(b)
}

// handleSearchResource answers a Resource Search: the records of
// resource.type that the subject may do the action on (for read, the
// subject's as_user list). subject (type and id), action and resource.type
// are required.
func (s *Surface) handleSearchResource(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var q searchRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	if err := q.Subject.need("subject", true); err != nil {
		return err
	}
	if err := q.Action.need(); err != nil {
		return err
	}
	if err := q.Resource.need("resource", false); err != nil {
		return err
	}
	p, fp, err := q.paging(SearchResourcePath)
	if err != nil {
		return err
	}
	out := searchResponse[ref]{Results: []ref{}}
	if *q.Subject.Type == "user" {
		page, err := s.app.SearchResources(r.Context(), c, app.ResourceSearch{User: *q.Subject.ID, Action: *q.Action.Name, Type: *q.Resource.Type, ListParams: p})
		if err != nil {
			return err
		}
		for _, id := range page.Items {
			out.Results = append(out.Results, ref{Type: *q.Resource.Type, ID: id})
		}
		out.Page.NextToken = nextToken(fp, page.Next)
	}
	out.Page.Count = len(out.Results)
	writeJSON(w, out)
	return nil
}

// handleSearchSubject answers a Subject Search: the users who may do the
// action on the resource (for read, the record's viewers). subject.type,
// action and resource (type and id) are required.
func (s *Surface) handleSearchSubject(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var q searchRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	if err := q.Subject.need("subject", false); err != nil {
		return err
	}
	if err := q.Action.need(); err != nil {
		return err
	}
	if err := q.Resource.need("resource", true); err != nil {
		return err
	}
	p, fp, err := q.paging(SearchSubjectPath)
	if err != nil {
		return err
	}
	out := searchResponse[ref]{Results: []ref{}}
	if *q.Subject.Type == "user" {
		page, err := s.app.SearchSubjects(r.Context(), c, app.SubjectSearch{Action: *q.Action.Name, Type: *q.Resource.Type, ID: *q.Resource.ID, ListParams: p})
		if err != nil {
			return err
		}
		for _, id := range page.Items {
			out.Results = append(out.Results, ref{Type: "user", ID: id})
		}
		out.Page.NextToken = nextToken(fp, page.Next)
	}
	out.Page.Count = len(out.Results)
	writeJSON(w, out)
	return nil
}

// handleSearchAction answers an Action Search: which of read, update and
// delete the subject may do on the resource. subject and resource (type and
// id each) are required; an action member is ignored.
func (s *Surface) handleSearchAction(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var q searchRequest
	if err := decode(r, &q); err != nil {
		return err
	}
	if err := q.Subject.need("subject", true); err != nil {
		return err
	}
	if err := q.Resource.need("resource", true); err != nil {
		return err
	}
	q.Action = nil
	p, fp, err := q.paging(SearchActionPath)
	if err != nil {
		return err
	}
	var names []string
	if *q.Subject.Type == "user" {
		if names, err = s.app.SearchActions(r.Context(), c, *q.Subject.ID, *q.Resource.Type, *q.Resource.ID); err != nil {
			return err
		}
	}
	// The cursor is the number of actions already answered.
	from := 0
	if p.Cursor != "" {
		n, err := strconv.Atoi(p.Cursor)
		if err != nil || n < 0 || n > len(names) {
			return invalid("page.token is not a token of this PDP")
		}
		from = n
	}
	to := min(len(names), from+p.Limit)
	out := searchResponse[actionName]{Results: []actionName{}}
	for _, n := range names[from:to] {
		out.Results = append(out.Results, actionName{Name: n})
	}
	if to < len(names) {
		out.Page.NextToken = nextToken(fp, strconv.Itoa(to))
	}
	out.Page.Count = len(out.Results)
	writeJSON(w, out)
	return nil
}
