package api

import (
	"net/http"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// reviewRoutes are access reviews (governance.md §2). Who may do what is
// documented on the use cases of package app (reviews.go).
func (s *Surface) reviewRoutes() []surface.Route {
	return []surface.Route{
		{Method: "POST", Pattern: "/api/v1/reviews", Summary: "Start an access review", Handle: s.handleCreateReview},
		{Method: "GET", Pattern: "/api/v1/reviews", Summary: "List access reviews", Handle: s.handleListReviews},
		{Method: "GET", Pattern: "/api/v1/reviews/{id}", Summary: "Get an access review with its counts", Handle: s.handleGetReview},
		{Method: "GET", Pattern: "/api/v1/reviews/{id}/items", Summary: "List an access review's items", Handle: s.handleReviewItems},
		{Method: "POST", Pattern: "/api/v1/reviews/{id}/items/{item}", Summary: "Answer an item of an access review", Handle: s.handleDecideReviewItem},
		{Method: "POST", Pattern: "/api/v1/reviews/{id}/close", Summary: "Close an access review and apply it", Handle: s.handleCloseReview},
	}
}

func (s *Surface) handleCreateReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.ReviewRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	d, rev, err := s.app.CreateReview(r.Context(), c, in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (s *Surface) handleListReviews(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	lp, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "reviews", lp, func(lp app.ListParams) (app.Page[store.Review], error) {
		return s.app.ListReviews(r.Context(), c, app.ReviewFilter{Account: q.Get("account"), Status: q.Get("status"), ListParams: lp})
	})
}

func (s *Surface) handleGetReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rv, err := s.app.GetReview(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (s *Surface) handleReviewItems(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	items, err := s.app.ReviewItems(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(items, ""))
	return nil
}

func (s *Surface) handleDecideReviewItem(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.ReviewDecision
	if err := decode(r, &in); err != nil {
		return err
	}
	it, rev, err := s.app.DecideReviewItem(r.Context(), c, r.PathValue("id"), r.PathValue("item"), in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusOK, it)
	return nil
}

func (s *Surface) handleCloseReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	rv, rev, err := s.app.CloseReview(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusOK, rv)
	return nil
}
