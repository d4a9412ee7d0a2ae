package server

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/auth"
	"github.com/portcullis-dev/portcullis/internal/store"
)

type meResponse struct {
	User     access.User            `json:"user"`
	Accounts []access.AccountAccess `json:"accounts"`
}

// handleMe returns the caller and, for an external user, the accounts it
// can act on (the account switcher, DESIGN.md §5.13).
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, c *caller) error {
	accts := s.engine.Reach(c.user.ID)
	if accts == nil {
		accts = []access.AccountAccess{}
	}
	writeJSON(w, http.StatusOK, meResponse{User: c.user, Accounts: accts})
	return nil
}

type tokenRequest struct {
	Name string `json:"name"`
	User string `json:"user"`
}

type tokenCreated struct {
	store.Token
	// Secret is the token itself, shown in this response only.
	Secret string `json:"token"`
}

// handleCreateToken creates an API token for an internal user: staff for
// themselves, admins for any internal user. The store keeps only its hash.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	var req tokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.User == "" {
		req.User = c.user.ID
	}
	if req.User != c.user.ID && !c.admin() {
		return access.Errorf(access.CodeForbidden, "only admins create tokens for other users")
	}
	tok, secret, rev, err := CreateToken(r.Context(), s.store, s.engine, c.user.ID, req.User, req.Name)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	writeJSON(w, http.StatusCreated, tokenCreated{Token: tok, Secret: secret})
	return nil
}

// CreateToken creates an API token for an internal user and returns it
// with its secret. It serves the API and `portcullis token create`.
func CreateToken(ctx context.Context, st store.Store, e *access.Engine, actor, userID, name string) (store.Token, string, int64, error) {
	u, ok := e.User(userID)
	if !ok || u.Kind != access.KindInternal {
		return store.Token{}, "", 0, access.Errorf(access.CodeInvalid, "tokens belong to existing internal users")
	}
	if name == "" || len(name) > 200 {
		return store.Token{}, "", 0, access.Errorf(access.CodeInvalid, "name is required (at most 200 characters)")
	}
	secret, hash := auth.NewSecret("pct_")
	tok, rev, err := st.CreateToken(ctx, actor, store.Token{UserID: userID, Name: name, Hash: hash, CreatedAt: e.Now()})
	return tok, secret, rev, err
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	user := r.URL.Query().Get("user")
	if user == "" {
		user = c.user.ID
	}
	if user != c.user.ID && !c.admin() {
		return access.Errorf(access.CodeForbidden, "only admins list other users' tokens")
	}
	toks, err := s.store.ListTokens(r.Context(), user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(toks, ""))
	return nil
}

// handleDeleteToken revokes a token: its owner or an admin.
func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !c.admin() {
		toks, err := s.store.ListTokens(r.Context(), c.user.ID)
		if err != nil {
			return err
		}
		mine := false
		for _, t := range toks {
			mine = mine || t.ID == id
		}
		if !mine {
			return access.Errorf(access.CodeNotFound, "token %s not found", id)
		}
	}
	rev, err := s.store.DeleteToken(r.Context(), c.user.ID, id)
	if err != nil {
		return err
	}
	setRevision(w, rev)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleAudit lists the audit log, newest first (staff).
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	limit, cursor, err := listParams(r)
	if err != nil {
		return err
	}
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	f.Limit, f.Cursor = limit, cursor
	items, next, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

// auditFilter reads the audit filters actor, target, action, since and
// until (RFC 3339): shared by the API and the console's audit log.
func auditFilter(q url.Values) (store.AuditFilter, error) {
	f := store.AuditFilter{Actor: q.Get("actor"), Target: q.Get("target"), Action: q.Get("action")}
	for key, dst := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(key); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, access.Errorf(access.CodeInvalid, "%s must be an RFC 3339 time", key)
			}
			*dst = &t
		}
	}
	return f, nil
}

func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request, c *caller) error {
	if err := requireStaff(c); err != nil {
		return err
	}
	v, err := s.store.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
