package admin

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// The console's access reviews (governance.md §2): every review with its
// progress, a form to start one for any account and reviewer, and a
// review's page where staff writers answer the items that are staff's
// (and their own, when they are the reviewer) and close it. Who may do
// what is app's (reviews.go).

func (s *Surface) reviewRoutes(get, post func(string, surface.Handler) surface.Route) []surface.Route {
	return []surface.Route{
		get("/admin/reviews", s.handleReviews),
		post("/admin/reviews", s.handleCreateReview),
		get("/admin/reviews/{id}", s.handleReview),
		post("/admin/reviews/{id}/items/{item}", s.handleDecideReviewItem),
		post("/admin/reviews/{id}/close", s.handleCloseReview),
	}
}

// reviewInputs place a review's errors next to their inputs.
var reviewInputs = map[string]string{"account": "review_account", "reviewer": "review_reviewer", "due": "review_due",
	"on_no_answer": "review_on_no_answer", "schedule": "review_schedule"}

type reviewForm struct{ Account, Reviewer, Due, OnNoAnswer, Schedule, Status string }

type reviewsData struct {
	roles
	Reviews   []reviewRow
	Form      reviewForm
	Answers   []render.Choice
	Schedules []render.Choice
	Next      string
}

type reviewRow struct {
	store.Review
	Answered int
	Repeat   string
}

type reviewData struct {
	roles
	Review store.Review
	People []render.ReviewPerson
}

func (s *Surface) handleReviews(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	f := reviewForm{Account: q.Get("account"), Status: q.Get("status"), Due: s.app.Now().AddDate(0, 0, 14).Format(time.DateOnly)}
	return s.renderReviews(w, r, c, page(c, "Access reviews", "reviews"), &reviewsData{Form: f}, http.StatusOK)
}

func (s *Surface) renderReviews(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, d *reviewsData, status int) error {
	q := r.URL.Query()
	list, err := s.app.ListReviews(r.Context(), c, app.ReviewFilter{Account: q.Get("account"), Status: q.Get("status"),
		ListParams: app.ListParams{Limit: 100, Cursor: q.Get("cursor")}})
	if err != nil {
		return err
	}
	d.roles = rolesOf(c)
	for _, rv := range list.Items {
		d.Reviews = append(d.Reviews, reviewRow{Review: rv, Answered: render.Answered(rv.Counts), Repeat: render.ScheduleText(rv.Schedule)})
	}
	if list.Next != "" {
		v := url.Values{"account": {q.Get("account")}, "status": {q.Get("status")}, "cursor": {list.Next}}
		d.Next = "/admin/reviews?" + v.Encode()
	}
	d.Answers, d.Schedules = render.ReviewChoices(d.Form.OnNoAnswer, d.Form.Schedule)
	p.Data = d
	s.rd.Render(w, r, status, "admin_reviews", p)
	return nil
}

func (s *Surface) handleCreateReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	f := reviewForm{Account: strings.TrimSpace(r.PostFormValue("account")), Reviewer: strings.TrimSpace(r.PostFormValue("reviewer")),
		Due: r.PostFormValue("due"), OnNoAnswer: r.PostFormValue("on_no_answer"), Schedule: r.PostFormValue("schedule")}
	in := app.ReviewRequest{Account: f.Account, Reviewer: f.Reviewer, Due: f.Due, OnNoAnswer: f.OnNoAnswer}
	if f.Schedule != "" {
		in.Schedule = &f.Schedule
	}
	d, _, err := s.app.CreateReview(r.Context(), c, in)
	if err != nil {
		p := page(c, "Access reviews", "reviews")
		status, ierr := render.FormError(p, err, reviewInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderReviews(w, r, c, p, &reviewsData{Form: f}, status)
	}
	render.RedirectDone(w, r, "/admin/reviews/"+url.PathEscape(d.ID), "review_started")
	return nil
}

func (s *Surface) handleReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	return s.renderReview(w, r, c, page(c, "Access review", "reviews"), http.StatusOK)
}

func (s *Surface) renderReview(w http.ResponseWriter, r *http.Request, c *app.Actor, p *render.Page, status int) error {
	id := r.PathValue("id")
	rv, err := s.app.GetReview(r.Context(), c, id)
	if err != nil {
		return err
	}
	items, err := s.app.ReviewItems(r.Context(), c, id)
	if err != nil {
		return err
	}
	eng := s.app.Engine()
	mine := func(it store.ReviewItem) bool {
		return rv.Status == store.ReviewOpen && c.StaffWriter() && (it.Reviewer == store.ReviewerStaff || it.Reviewer == c.ID())
	}
	name := func(id string) string {
		if a, ok := eng.Account(id); ok && a.Name != "" {
			return a.Name
		}
		return id
	}
	p.Data = &reviewData{roles: rolesOf(c), Review: rv, People: render.ReviewPeople(items, mine, name)}
	s.rd.Render(w, r, status, "admin_review", p)
	return nil
}

// reviewFailed renders the review with a refused action's error.
func (s *Surface) reviewFailed(w http.ResponseWriter, r *http.Request, c *app.Actor, err error) error {
	p := page(c, "Access review", "reviews")
	status, ierr := render.FormError(p, err, nil)
	if ierr != nil {
		return ierr
	}
	return s.renderReview(w, r, c, p, status)
}

func (s *Surface) handleDecideReviewItem(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	id := r.PathValue("id")
	in := app.ReviewDecision{Decision: r.PostFormValue("decision"), Note: r.PostFormValue("note")}
	if _, _, err := s.app.DecideReviewItem(r.Context(), c, id, r.PathValue("item"), in); err != nil {
		return s.reviewFailed(w, r, c, err)
	}
	render.RedirectDone(w, r, "/admin/reviews/"+url.PathEscape(id), "review_answered")
	return nil
}

func (s *Surface) handleCloseReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	id := r.PathValue("id")
	// Closing revokes at once: only with the box ticked, as in the portal.
	if r.PostFormValue("confirm") != "yes" {
		return s.reviewFailed(w, r, c, access.FieldErrorf(access.CodeInvalid, "confirm", "Tick the box to confirm that the review closes now."))
	}
	if _, _, err := s.app.CloseReview(r.Context(), c, id); err != nil {
		return s.reviewFailed(w, r, c, err)
	}
	render.RedirectDone(w, r, "/admin/reviews/"+url.PathEscape(id), "review_closed")
	return nil
}
