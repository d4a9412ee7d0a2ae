package api

import (
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The conversation and files of records (records.md §2): comments under
// /records/{type}/{id}/comments, the staff feed /comments, and files
// under /records/{type}/{id}/files.

// conversationRoutes are the routes of comments and files. A file's PUT
// takes a body of any type, up to the app's MaxFileSize (one byte more is
// read to tell a file that is too large).
func (s *Surface) conversationRoutes() []surface.Route {
	const rec = "/api/v1/records/{type}/{id}"
	return []surface.Route{
		{Method: "GET", Pattern: rec + "/comments", Summary: "A record's comments, oldest first", Handle: s.handleListComments},
		{Method: "POST", Pattern: rec + "/comments", Summary: "Comment on a record", Handle: s.handlePostComment},
		{Method: "GET", Pattern: "/api/v1/comments", Summary: "New comments on every record (staff)", Handle: s.handleCommentFeed},
		{Method: "GET", Pattern: rec + "/files", Summary: "A record's files", Handle: s.handleListFiles},
		{Method: "GET", Pattern: rec + "/files/{name}", Summary: "Download a file", Handle: s.handleGetFile},
		{Method: "PUT", Pattern: rec + "/files/{name}", Summary: "Attach a file", AcceptAnyBody: true,
			MaxBody: s.app.MaxFileSize() + 1, Handle: s.handlePutFile},
		{Method: "DELETE", Pattern: rec + "/files/{name}", Summary: "Delete a file", Handle: s.handleDeleteFile},
	}
}

// onlyParams answers CodeInvalid for a query parameter outside allowed
// (min_revision is always allowed).
func onlyParams(q url.Values, allowed ...string) error {
	for key := range q {
		ok := key == "min_revision"
		for _, a := range allowed {
			ok = ok || key == a
		}
		if !ok {
			return access.FieldErrorf(access.CodeInvalid, key, "unknown parameter %s", key)
		}
	}
	return nil
}

func (s *Surface) handleListComments(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "cursor", "as_user"); err != nil {
		return err
	}
	p, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	page, err := s.app.ListComments(r.Context(), c, app.CommentList{Type: r.PathValue("type"), ID: r.PathValue("id"), AsUser: q.Get("as_user"), ListParams: p})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pageOf(page))
	return nil
}

func (s *Surface) handlePostComment(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	var in app.CommentPost
	if err := decode(r, &in); err != nil {
		return err
	}
	cm, rev, err := s.app.PostComment(r.Context(), c, r.PathValue("type"), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, http.StatusCreated, cm)
	return nil
}

func (s *Surface) handleCommentFeed(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, "limit", "cursor", "updated_since", "format"); err != nil {
		return err
	}
	p, err := app.ParseListParams(q)
	if err != nil {
		return err
	}
	return listOrExport(s, w, r, "comments", p, func(lp app.ListParams) (app.Page[app.Comment], error) {
		return s.app.ListCommentFeed(r.Context(), c, app.CommentFeed{UpdatedSince: q.Get("updated_since"), ListParams: lp})
	})
}

func (s *Surface) handleListFiles(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, "as_user"); err != nil {
		return err
	}
	files, err := s.app.ListFiles(r.Context(), c, r.PathValue("type"), r.PathValue("id"), q.Get("as_user"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(files, ""))
	return nil
}

// handleGetFile sends a file's bytes as an attachment with nosniff, in
// its stored content type unless a browser would run that type as a
// document (app.InlineSafe), and sandboxed should anything open it.
func (s *Surface) handleGetFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	q := r.URL.Query()
	if err := onlyParams(q, "as_user"); err != nil {
		return err
	}
	f, err := s.app.GetFile(r.Context(), c, r.PathValue("type"), r.PathValue("id"), r.PathValue("name"), q.Get("as_user"))
	if err != nil {
		return err
	}
	surface.ServeFile(w, f)
	return nil
}

func (s *Surface) handlePutFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	data, err := surface.ReadFileBody(r.Body, s.app.MaxFileSize())
	if err != nil {
		return err
	}
	f, isNew, rev, err := s.app.PutFile(r.Context(), c, app.FilePut{Type: r.PathValue("type"), ID: r.PathValue("id"),
		Name: r.PathValue("name"), ContentType: r.Header.Get("Content-Type"), Data: data})
	if err != nil {
		return err
	}
	surface.Revision(w, rev)
	writeJSON(w, created(isNew), f)
	return nil
}

func (s *Surface) handleDeleteFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if err := onlyParams(r.URL.Query()); err != nil {
		return err
	}
	rev, err := s.app.DeleteFile(r.Context(), c, r.PathValue("type"), r.PathValue("id"), r.PathValue("name"))
	if err != nil {
		return err
	}
	return noContent(w, rev)
}
