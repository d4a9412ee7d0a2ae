package admin

import (
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The conversation and files on the console's record page (records.md
// §2): every comment, internal ones marked, a comment form with an
// "internal" checkbox, and files with upload and removal, for staff
// writers (auditors read).

// talkRoutes are the record page's forms and downloads; the upload takes
// a multipart body up to the file limit plus room for the form.
func (s *Surface) talkRoutes(get, post func(string, surface.Handler) surface.Route) []surface.Route {
	const rec = "/admin/records/{type}/{id}"
	upload := post(rec+"/files", s.handleUploadFile)
	upload.MaxBody = s.app.MaxFileSize() + 1<<20
	return []surface.Route{
		post(rec+"/comments", s.handlePostComment),
		upload,
		get(rec+"/files/{name}", s.handleDownloadFile),
		post(rec+"/files/{name}/delete", s.handleRemoveFile),
	}
}

// recordURL is a record's console page.
func recordURL(typ, id string) string {
	return "/admin/records/" + url.PathEscape(typ) + "/" + url.PathEscape(id)
}

// talk loads the conversation and files section of a record page.
func (s *Surface) talk(r *http.Request, c *app.Actor, t *policy.Type, id string) (*render.Talk, error) {
	talk, err := render.LoadTalk(r.Context(), s.app, c, t, id, "", recordURL(t.Name, id))
	if talk != nil {
		talk.CanPost, talk.CanUpload, talk.Staff = c.StaffWriter(), c.StaffWriter(), true
	}
	return talk, err
}

// formFailed shows a failed form's domain error on the record page.
func (s *Surface) formFailed(w http.ResponseWriter, r *http.Request, c *app.Actor, err error) error {
	if !isCode(err, access.CodeInvalid, access.CodeTooLarge) {
		return err
	}
	return s.renderRecord(w, r, c, surface.Status(access.ErrorCode(err)), surface.DomainError(err).Message)
}

func (s *Surface) handlePostComment(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	typ, id := r.PathValue("type"), r.PathValue("id")
	in := app.CommentPost{Body: r.PostFormValue("body"), Internal: r.PostFormValue("internal") != ""}
	if _, _, err := s.app.PostComment(r.Context(), c, typ, id, in); err != nil {
		return s.formFailed(w, r, c, err)
	}
	render.RedirectDone(w, r, recordURL(typ, id)+"#conversation", "commented")
	return nil
}

func (s *Surface) handleUploadFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	if err := render.PutUploadedFile(r, s.app, c); err != nil {
		return s.formFailed(w, r, c, err)
	}
	render.RedirectDone(w, r, recordURL(r.PathValue("type"), r.PathValue("id"))+"#files", "file_added")
	return nil
}

func (s *Surface) handleDownloadFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	f, err := s.app.GetFile(r.Context(), c, r.PathValue("type"), r.PathValue("id"), r.PathValue("name"), "")
	if err != nil {
		return err
	}
	surface.ServeFile(w, f)
	return nil
}

func (s *Surface) handleRemoveFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	typ, id := r.PathValue("type"), r.PathValue("id")
	if _, err := s.app.DeleteFile(r.Context(), c, typ, id, r.PathValue("name")); err != nil {
		return err
	}
	render.RedirectDone(w, r, recordURL(typ, id)+"#files", "file_removed")
	return nil
}
