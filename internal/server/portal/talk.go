package portal

import (
	"net/http"
	"net/url"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/policy"
	"github.com/portcullis-dev/portcullis/internal/server/render"
	"github.com/portcullis-dev/portcullis/internal/server/surface"
)

// The conversation and files on the record page (records.md §2): the
// comment form when the user may update the record, downloads, and the
// upload form where the type has external_files. Under view as only the
// page and its downloads are mounted (ReadOnly).

// talkRoutes are the record page's forms and downloads. The upload takes
// a multipart body up to the file limit plus room for the form.
func (s *Surface) talkRoutes() []surface.Route {
	const rec = "/a/{account}/{type}/{id}"
	return []surface.Route{
		{Method: "POST", Pattern: rec + "/comments", Handle: s.handlePostComment},
		{Method: "POST", Pattern: rec + "/files", MaxBody: s.app.MaxFileSize() + 1<<20, Handle: s.handleUploadFile},
		{Method: "GET", Pattern: rec + "/files/{name}", ReadOnly: true, Handle: s.handleDownloadFile},
		{Method: "POST", Pattern: rec + "/files/{name}/delete", Handle: s.handleRemoveFile},
		{Method: "GET", Pattern: "/r/{type}/{id}", Handle: s.handleRecordLink},
	}
}

// talk loads the conversation and files section of a record page.
func (s *Surface) talk(r *http.Request, c *app.Actor, v *view, t *policy.Type, id string, canEdit bool) (*render.Talk, error) {
	talk, err := render.LoadTalk(r.Context(), s.app, c, t, id, v.asUser(), recordURL(v, t.Name, id))
	if talk != nil {
		talk.CanPost = canEdit && !v.viewAs
		talk.CanUpload = canEdit && !v.viewAs && t.ExternalFiles
	}
	return talk, err
}

// recordURL is the record page under the current account.
func recordURL(v *view, typ, id string) string {
	return v.accountURL() + url.PathEscape(typ) + "/" + url.PathEscape(id)
}

// formFailed shows a failed form's domain error on the record page (a
// bad comment, a file too large); any other error goes to the error page.
func (s *Surface) formFailed(w http.ResponseWriter, r *http.Request, c *app.Actor, err error) error {
	e := surface.DomainError(err)
	if e == nil || (e.Code != access.CodeInvalid && e.Code != access.CodeTooLarge) {
		return err
	}
	return s.renderRecord(w, r, c, surface.Status(e.Code), e.Message)
}

func (s *Surface) handlePostComment(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	typ, id := r.PathValue("type"), r.PathValue("id")
	if _, _, err := s.app.PostComment(r.Context(), c, typ, id, app.CommentPost{Body: r.PostFormValue("body")}); err != nil {
		return s.formFailed(w, r, c, err)
	}
	render.RedirectDone(w, r, recordURL(v, typ, id)+"#conversation", "commented")
	return nil
}

func (s *Surface) handleUploadFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	if err := render.PutUploadedFile(r, s.app, c); err != nil {
		return s.formFailed(w, r, c, err)
	}
	render.RedirectDone(w, r, recordURL(v, r.PathValue("type"), r.PathValue("id"))+"#files", "file_added")
	return nil
}

func (s *Surface) handleDownloadFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	f, err := s.app.GetFile(r.Context(), c, r.PathValue("type"), r.PathValue("id"), r.PathValue("name"), v.asUser())
	if err != nil {
		return err
	}
	surface.ServeFile(w, f)
	return nil
}

func (s *Surface) handleRemoveFile(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	v, err := s.portal(r, c)
	if err != nil {
		return err
	}
	typ, id := r.PathValue("type"), r.PathValue("id")
	if _, err := s.app.DeleteFile(r.Context(), c, typ, id, r.PathValue("name")); err != nil {
		return err
	}
	render.RedirectDone(w, r, recordURL(v, typ, id)+"#files", "file_removed")
	return nil
}

// handleRecordLink is where a message's link to a record lands: the
// record page under the first account the user can act on (the page
// shows any record the user can read, whichever account is current).
func (s *Surface) handleRecordLink(w http.ResponseWriter, r *http.Request, c *app.Actor) error {
	pv, err := s.app.Portal(r.Context(), c, "")
	if err != nil {
		return err
	}
	if len(pv.Accounts) == 0 {
		return access.Errorf(access.CodeNotFound, "no such page")
	}
	http.Redirect(w, r, "/a/"+url.PathEscape(pv.Accounts[0].ID)+"/"+url.PathEscape(r.PathValue("type"))+"/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
	return nil
}
