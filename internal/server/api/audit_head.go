package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// auditHeadRoutes are the audit log's anchor (#12).
func (s *Surface) auditHeadRoutes() []surface.Route {
	return []surface.Route{
		{Method: "GET", Pattern: "/api/v1/audit/head", Summary: "The audit chain's head, an anchor for verify --expect-head", Handle: s.handleAuditHead},
	}
}

// handleAuditHead answers {"entries", "head"} (staff): keep it outside the
// database and give it to `portcullis audit verify --expect-head` later.
func (s *Surface) handleAuditHead(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	h, err := s.app.AuditHead(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}
