package portal

import (
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// Access reviews (governance.md §2) for customer admins: the account's
// reviews and a form to start one (/a/{account}/reviews), and a review's
// page (/reviews/{id}, the link of the reviewer's message): one row per
// person with its access, Keep and Revoke for the person, "Keep all
// remaining" and Close. Every action is a plain form (POST, redirect,
// GET), so the page works without JavaScript; who may do what is app's
// (reviews.go).

// reviewRoutes are the review pages.
func (s *Surface) reviewRoutes() []surface.Route {
	return []surface.Route{
		{Method: "GET", Pattern: "/a/{account}/reviews", Handle: s.handleReviews},
		{Method: "POST", Pattern: "/a/{account}/reviews", Handle: s.handleReviewStart},
		{Method: "GET", Pattern: "/reviews/{id}", Handle: s.handleReview},
		{Method: "POST", Pattern: "/reviews/{id}/decide", Handle: s.handleReviewDecide},
		{Method: "POST", Pattern: "/reviews/{id}/keep-remaining", Handle: s.handleReviewKeepRemaining},
		{Method: "POST", Pattern: "/reviews/{id}/close", Handle: s.handleReviewClose},
	}
}

// reviewsData is the account's review list and the start form.
type reviewsData struct {
	Self      string
	Reviews   []reviewRow
	Due       string
	Answers   []render.Choice
	Schedules []render.Choice
}

type reviewRow struct {
	store.Review
	Link     string
	Answered int
}

// reviewData is a review's page.
type reviewData struct {
	Review      store.Review
	AccountName string
	Self        string
	People      []render.ReviewPerson
	// Open counts the viewer's items without a decision.
	Open int
}

func reviewsPage(v *view) *render.Page {
	p := v.page("Access review", "reviews")
	p.Errors = map[string]string{}
	return p
}

// reviewInputs map the start form's fields to its inputs.
var reviewInputs = map[string]string{"due": "review_due", "on_no_answer": "review_on_no_answer", "schedule": "review_schedule"}

func (s *Surface) handleReviews(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	return s.renderReviews(w, r, c, v, reviewsPage(v), reviewForm{Due: v.eng.Now().AddDate(0, 0, 14).Format(time.DateOnly)}, http.StatusOK)
}

// reviewForm is what the start form shows.
type reviewForm struct {
	Due, OnNoAnswer, Schedule string
}

func (s *Surface) renderReviews(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, p *render.Page, f reviewForm, status int) error {
	page, err := s.app.ListReviews(r.Context(), c, app.ReviewFilter{Account: v.current.ID, ListParams: app.ListParams{Limit: store.MaxListLimit}})
	if err != nil {
		return err
	}
	d := &reviewsData{Self: v.accountURL() + "reviews", Due: f.Due}
	for i := len(page.Items) - 1; i >= 0; i-- { // newest first
		rv := page.Items[i]
		d.Reviews = append(d.Reviews, reviewRow{Review: rv, Link: "/reviews/" + url.PathEscape(rv.ID), Answered: render.Answered(rv.Counts)})
	}
	d.Answers, d.Schedules = render.ReviewChoices(f.OnNoAnswer, f.Schedule)
	p.Data = d
	s.rd.Render(w, r, status, "portal_reviews", p)
	return nil
}

// handleReviewStart starts a review of the current account with the admin
// itself as the reviewer.
func (s *Surface) handleReviewStart(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return access.Errorf(access.CodeInvalid, "the form could not be read")
	}
	f := reviewForm{Due: r.PostForm.Get("due"), OnNoAnswer: r.PostForm.Get("on_no_answer"), Schedule: r.PostForm.Get("schedule")}
	in := app.ReviewRequest{Account: v.current.ID, Due: f.Due, OnNoAnswer: f.OnNoAnswer}
	if f.Schedule != "" {
		in.Schedule = &f.Schedule
	}
	d, _, err := s.app.CreateReview(r.Context(), c, in)
	if err != nil {
		p := reviewsPage(v)
		status, ierr := render.FormError(p, err, reviewInputs)
		if ierr != nil {
			return ierr
		}
		return s.renderReviews(w, r, c, v, p, f, status)
	}
	render.RedirectDone(w, r, "/reviews/"+url.PathEscape(d.ID), "review_started")
	return nil
}

// reviewView resolves a review page: the portal view with the review's
// account as the current one.
func (s *Surface) reviewView(r *http.Request, c *app.Actor) (*view, store.Review, error) {
	v, err := s.portal(r, c)
	if err != nil {
		return nil, store.Review{}, err
	}
	rv, err := s.app.GetReview(r.Context(), c, r.PathValue("id"))
	if err != nil {
		return nil, rv, err
	}
	v.current = v.account(rv.Account)
	return v, rv, nil
}

func (s *Surface) handleReview(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, rv, err := s.reviewView(r, c)
	if err != nil {
		return err
	}
	return s.renderReview(w, r, c, v, rv, reviewsPage(v), http.StatusOK)
}

func (s *Surface) renderReview(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, rv store.Review, p *render.Page, status int) error {
	items, err := s.app.ReviewItems(r.Context(), c, rv.ID)
	if err != nil {
		return err
	}
	open := rv.Status == store.ReviewOpen
	mine := func(it store.ReviewItem) bool { return open && it.Reviewer == c.ID() }
	d := &reviewData{Review: rv, AccountName: s.accountName(v, rv.Account), Self: "/reviews/" + url.PathEscape(rv.ID),
		People: render.ReviewPeople(items, mine, func(id string) string { return s.accountName(v, id) })}
	for _, pr := range d.People {
		d.Open += pr.Open
	}
	p.Data = d
	s.rd.Render(w, r, status, "portal_review", p)
	return nil
}

// reviewFailed renders the review with a refused action's error.
func (s *Surface) reviewFailed(w http.ResponseWriter, r *http.Request, c *app.Actor, v *view, rv store.Review, err error) error {
	p := reviewsPage(v)
	status, ierr := render.FormError(p, err, nil)
	if ierr != nil {
		return ierr
	}
	return s.renderReview(w, r, c, v, rv, p, status)
}

// handleReviewDecide answers Keep or Revoke for every item of one person
// that the admin answers.
func (s *Surface) handleReviewDecide(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, rv, err := s.reviewView(r, c)
	if err != nil {
		return err
	}
	in := app.ReviewBulk{User: r.PostFormValue("user"), Decision: r.PostFormValue("decision")}
	if in.User == "" {
		return s.reviewFailed(w, r, c, v, rv, access.Errorf(access.CodeInvalid, "the form names no person"))
	}
	if _, _, err := s.app.DecideReviewItems(r.Context(), c, rv.ID, in); err != nil {
		return s.reviewFailed(w, r, c, v, rv, err)
	}
	render.RedirectDone(w, r, "/reviews/"+url.PathEscape(rv.ID)+"#person-"+url.PathEscape(in.User), "review_answered")
	return nil
}

func (s *Surface) handleReviewKeepRemaining(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, rv, err := s.reviewView(r, c)
	if err != nil {
		return err
	}
	if _, _, err := s.app.DecideReviewItems(r.Context(), c, rv.ID, app.ReviewBulk{Decision: store.DecisionKeep, Open: true}); err != nil {
		return s.reviewFailed(w, r, c, v, rv, err)
	}
	render.RedirectDone(w, r, "/reviews/"+url.PathEscape(rv.ID), "review_kept_all")
	return nil
}

func (s *Surface) handleReviewClose(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, rv, err := s.reviewView(r, c)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return s.reviewFailed(w, r, c, v, rv, access.FieldErrorf(access.CodeInvalid, "confirm", "Tick the box to confirm that the review closes now."))
	}
	if _, _, err := s.app.CloseReview(r.Context(), c, rv.ID); err != nil {
		return s.reviewFailed(w, r, c, v, rv, err)
	}
	render.RedirectDone(w, r, "/reviews/"+url.PathEscape(rv.ID), "review_closed")
	return nil
}
