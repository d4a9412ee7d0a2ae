package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Check, explain and viewers (staff and integration tokens), tokens and
// the audit log, sign-in and sign-out.

func (s *Surface) handleCheck(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var req checkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := s.app.Check(r.Context(), c, app.CheckRequest(req))
	if err != nil {
		return err
	}
	writeAppended(w, http.StatusOK, func(b []byte) ([]byte, error) {
		b, err := appendCheckResult(b, res)
		return append(b, '\n'), err
	})
	return nil
}

type checkBatchRequest struct {
	Checks      []app.CheckRequest `json:"checks"`
	MinRevision int64              `json:"min_revision,omitempty"`
}

func (s *Surface) handleCheckBatch(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var req checkBatchRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	results, err := s.app.CheckBatch(r.Context(), c, req.Checks, req.MinRevision)
	if err != nil {
		return err
	}
	writeAppended(w, http.StatusOK, func(b []byte) ([]byte, error) { return appendCheckResults(b, results) })
	return nil
}

func (s *Surface) handleExplain(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	x, _, err := s.app.Explain(r.Context(), c, app.ExplainRequest{User: q.Get("user"), Type: q.Get("type"), ID: q.Get("id"), Action: q.Get("action")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, x)
	return nil
}

func (s *Surface) handleViewers(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	lp, err := app.ParseListParams(r.URL.Query())
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "viewers", lp, func(lp app.ListParams) (app.Page[access.Viewer], error) {
		return s.app.Viewers(r.Context(), c, r.PathValue("type"), r.PathValue("id"), lp)
	})
}

// tokenCreated is a new token with its secret, shown in this response only.
type tokenCreated struct {
	store.Token
	Secret string `json:"token"`
}

func (s *Surface) handleCreateToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var req app.TokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	tok, secret, rev, err := s.app.CreateToken(r.Context(), c, req)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, tokenCreated{Token: tok, Secret: secret})
	return nil
}

func (s *Surface) handleListTokens(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return listOrExport(s, w, r, "tokens", app.ListParams{}, whole(func() ([]store.Token, error) {
		return s.app.ListTokens(r.Context(), c, r.URL.Query().Get("user"))
	}))
}

func (s *Surface) handleDeleteToken(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rev, err := s.app.DeleteToken(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}

func (s *Surface) handleAudit(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	f, err := app.AuditFilterFromQuery(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "audit", lp, func(lp app.ListParams) (app.Page[store.AuditEntry], error) {
		f.ListParams = lp
		return s.app.ListAudit(r.Context(), c, f)
	})
}

func (s *Surface) handleAuditVerify(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.app.VerifyAudit(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// handleLogin signs a user in: a new session secret at every sign-in
// (rotation), throttled and audited by app.SignIn. A user with MFA on gets
// {"mfa_required": true, "mfa_token"} and no session (handleLoginMFA
// continues); one who must enrol first gets a session restricted to
// enrolment and "mfa_enrolment_required": true.
func (s *Surface) handleLogin(w http.ResponseWriter, r *http.Request, _ *app.Actor) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	res, err := surface.SignIn(w, r, s.app, req.Email, req.Password)
	if err != nil {
		return err
	}
	writeSignIn(w, res)
	return nil
}

func (s *Surface) handleLogout(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if err := surface.SignOut(w, r, s.app, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
