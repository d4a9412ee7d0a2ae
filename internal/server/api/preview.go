package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// previewRoutes are the impact preview (governance.md §1): what access
// changes would do, without writing or auditing anything.
func (s *Surface) previewRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/api/v1/preview", Summary: "Preview what access changes would do", Handle: s.handlePreview},
	}
}

func (s *Surface) handlePreview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in struct {
		Changes []app.PreviewChange `json:"changes"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.app.PreviewChanges(r.Context(), c, in.Changes)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
