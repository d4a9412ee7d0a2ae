// Package client is a typed Go client for the Portcullis JSON API
// (/api/v1): sessions and API tokens, records (get, list with an iterator
// over every page, put, patch, create, delete, batch), access checks
// (check, check:batch, explain, viewers), the as_user lists of other
// applications, and read-your-writes with min_revision.
//
// A Client acts as one caller: an API token (WithToken), or a browser-like
// session after Login, kept in the client's cookie jar. Every method
// takes a context. An error answer of the server is a *Error with the
// API's code:
//
//	c := client.New("https://portcullis.example.com", client.WithToken(secret))
//	rec, err := c.GetRecord(ctx, "sales_order", "SO1", client.GetOptions{})
//	var e *client.Error
//	if errors.As(err, &e) && e.Code == client.CodeNotFound { ... }
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes of the API (DESIGN.md §3).
const (
	CodeInvalid             = "invalid"
	CodeInvalidField        = "invalid_field"
	CodeUnauthenticated     = "unauthenticated"
	CodeForbidden           = "forbidden"
	CodeConstraintViolation = "constraint_violation"
	CodeNotFound            = "not_found"
	CodeConflict            = "conflict"
	CodeProtected           = "protected"
	CodeTooLarge            = "too_large"
	CodeRateLimited         = "rate_limited"
	CodeUnavailable         = "unavailable"
)

// Error is an error answer of the server.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the API's error code (the Code constants).
	Code    string
	Message string
	// Items names the bad items of a batch or the bad lines of an import.
	Items []ItemError
	// ExistingID names the grant a conflict is about.
	ExistingID string
}

// ItemError is one bad item of a batch (Index is its position) or one bad
// line of an import (Index is the line number).
type ItemError struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("portcullis: %d %s: %s", e.Status, e.Code, e.Message)
}

// Client calls one Portcullis server as one caller. It is safe for
// concurrent use.
type Client struct {
	base  string
	hc    *http.Client
	token string
}

// Option configures a Client.
type Option func(*Client)

// WithToken makes the client authenticate with an API token (Bearer).
func WithToken(secret string) Option { return func(c *Client) { c.token = secret } }

// WithHTTPClient makes the client send its requests with hc. Login needs
// hc to have a cookie jar.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// New returns a client of the server at baseURL (e.g.
// "https://portcullis.example.com"). Without options it has its own
// http.Client with a cookie jar, for Login.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/")}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		jar, _ := cookiejar.New(nil)
		c.hc = &http.Client{Jar: jar, Timeout: 5 * time.Minute}
	}
	return c
}

// do sends a request with a JSON body (nil: none) and decodes a JSON
// answer into out (nil: discard). It returns the Portcullis-Revision
// header (0 when absent).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) (int64, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("portcullis: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	rev, _ := strconv.ParseInt(res.Header.Get("Portcullis-Revision"), 10, 64)
	if res.StatusCode >= 300 {
		return rev, readError(res)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, res.Body)
		return rev, nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return rev, fmt.Errorf("portcullis: decode %s %s: %w", method, path, err)
	}
	return rev, nil
}

// readError reads an error answer.
func readError(res *http.Response) error {
	var body struct {
		Error struct {
			Code       string      `json:"code"`
			Message    string      `json:"message"`
			Items      []ItemError `json:"items"`
			ExistingID string      `json:"existing_id"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err := json.Unmarshal(data, &body); err != nil || body.Error.Code == "" {
		return &Error{Status: res.StatusCode, Code: "http_" + strconv.Itoa(res.StatusCode), Message: strings.TrimSpace(string(data))}
	}
	e := body.Error
	return &Error{Status: res.StatusCode, Code: e.Code, Message: e.Message, Items: e.Items, ExistingID: e.ExistingID}
}

// IsCode reports whether err is an *Error with the code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Sessions and tokens.

// User is a user as the API shows it.
type User struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	HomeAccount string `json:"home_account,omitempty"`
	Status      string `json:"status"`
	StaffRole   string `json:"staff_role,omitempty"`
}

// Login signs in with email and password; the session cookie is kept in
// the client's cookie jar and sent with every later request.
func (c *Client) Login(ctx context.Context, email, password string) (User, error) {
	var out struct {
		User User `json:"user"`
	}
	_, err := c.do(ctx, "POST", "/api/v1/session", nil, map[string]string{"email": email, "password": password}, &out)
	return out.User, err
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, "DELETE", "/api/v1/session", nil, nil, nil)
	return err
}

// Token is an API token (never its secret, which CreateToken returns
// once).
type Token struct {
	ID        string     `json:"id"`
	User      string     `json:"user"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
}

// CreateToken creates an API token of an internal user (user "" is the
// caller) and returns it with its secret, shown this once.
func (c *Client) CreateToken(ctx context.Context, user, name string) (Token, string, error) {
	var out struct {
		Token
		Secret string `json:"token"`
	}
	_, err := c.do(ctx, "POST", "/api/v1/tokens", nil, map[string]string{"user": user, "name": name}, &out)
	return out.Token, out.Secret, err
}

// ListTokens lists the API tokens of a user ("" is the caller).
func (c *Client) ListTokens(ctx context.Context, user string) ([]Token, error) {
	q := url.Values{}
	if user != "" {
		q.Set("user", user)
	}
	var out struct {
		Items []Token `json:"items"`
	}
	_, err := c.do(ctx, "GET", "/api/v1/tokens", q, nil, &out)
	return out.Items, err
}

// DeleteToken revokes an API token.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(id), nil, nil, nil)
	return err
}
