package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// testConversation checks store.ConversationStore: comments and files
// belong to an existing record and go with it, comments list oldest
// first with internal ones left out in the query for external readers,
// writes bump the revision and carry their Check and Mail, and file
// writes are audited without their bytes.
func testConversation(t *testing.T, b Backend) {
	tk := access.Ref{Type: "ticket", ID: "TK-1"}
	post := func(t *testing.T, s *instance, body string, internal bool) store.Comment {
		t.Helper()
		c, _, err := s.CreateComment(ctx(t), by, store.Comment{Record: tk, Author: "u1", AuthorKind: access.KindExternal, Body: body, Internal: internal})
		if err != nil {
			t.Fatalf("CreateComment(%s): %v", body, err)
		}
		return c
	}
	bodies := func(cs []store.Comment) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Body)
		}
		return out
	}

	t.Run("Comments/ErrNoRecord", func(t *testing.T) {
		s := open(t, b)
		_, _, err := s.CreateComment(ctx(t), by, store.Comment{Record: tk, Author: "u1", AuthorKind: access.KindExternal, Body: "x"})
		wantCode(t, err, access.CodeNotFound)
	})

	t.Run("Comments/OldestFirst", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-1"})
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-2"})
		rev := s.Revision()
		first := post(t, s, "one", false)
		if s.Revision() <= rev || first.ID == "" || first.CreatedAt.IsZero() {
			t.Errorf("CreateComment: revision %d → %d, id %q, created %v", rev, s.Revision(), first.ID, first.CreatedAt)
		}
		post(t, s, "two (internal)", true)
		post(t, s, "three", false)
		if _, _, err := s.CreateComment(ctx(t), by, store.Comment{Record: access.Ref{Type: "ticket", ID: "TK-2"}, Author: "u2",
			AuthorKind: access.KindInternal, Body: "elsewhere"}); err != nil {
			t.Fatal(err)
		}
		all, next, err := s.ListComments(ctx(t), store.CommentFilter{Record: &tk})
		if err != nil || next != "" {
			t.Fatalf("ListComments: next %q, %v", next, err)
		}
		if diff := cmp.Diff([]string{"one", "two (internal)", "three"}, bodies(all)); diff != "" {
			t.Errorf("staff view (-want +got):\n%s", diff)
		}
		if all[0].ID != first.ID || all[0].Author != "u1" || all[0].AuthorKind != access.KindExternal || !all[1].Internal || all[0].Record != tk ||
			!all[0].CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("stored comment %+v, posted %+v", all[0], first)
		}
		ext, _, err := s.ListComments(ctx(t), store.CommentFilter{Record: &tk, External: true})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"one", "three"}, bodies(ext)); diff != "" {
			t.Errorf("external view (-want +got):\n%s", diff)
		}
		// One per page, external: the cursor skips the internal comment.
		var paged []store.Comment
		for cursor := ""; ; {
			page, next, err := s.ListComments(ctx(t), store.CommentFilter{Record: &tk, External: true, Limit: 1, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		if diff := cmp.Diff([]string{"one", "three"}, bodies(paged)); diff != "" {
			t.Errorf("paged (-want +got):\n%s", diff)
		}
		// The feed: every record, at or after since.
		feed, _, err := s.ListComments(ctx(t), store.CommentFilter{Since: &all[1].CreatedAt})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"two (internal)", "three", "elsewhere"}, bodies(feed)); diff != "" {
			t.Errorf("feed since the second (-want +got):\n%s", diff)
		}
		if _, _, err := s.ListComments(ctx(t), store.CommentFilter{Cursor: "!!"}); err == nil {
			t.Error("a bad cursor is accepted")
		}
	})

	t.Run("Comments/OneInstant", func(t *testing.T) {
		frozen := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		s, _ := b.open(t, Options{Clock: func() time.Time { return frozen }})
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-1"})
		want := []string{"a", "b", "c", "d", "e", "f"}
		for _, body := range want {
			post(t, s, body, false)
		}
		got, _, err := s.ListComments(ctx(t), store.CommentFilter{Record: &tk})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, bodies(got)); diff != "" {
			t.Errorf("comments of one instant (-want +got):\n%s", diff)
		}
	})

	t.Run("Comments/CheckAndMail", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-1"})
		w := by
		w.Check = func() error { return &denied{"comment"} }
		_, _, err := s.CreateComment(ctx(t), w, store.Comment{Record: tk, Author: "u1", AuthorKind: access.KindExternal, Body: "no"})
		var d *denied
		if !errors.As(err, &d) {
			t.Errorf("CreateComment with a failing check: %v", err)
		}
		w.Check = nil
		w.Mail = []store.Message{{Kind: "comment", To: "ann@example.com", UserID: "ann", Subject: "New comment", Text: "t", HTML: "h"}}
		if _, _, err := s.CreateComment(ctx(t), w, store.Comment{Record: tk, Author: "u1", AuthorKind: access.KindExternal, Body: "yes"}); err != nil {
			t.Fatal(err)
		}
		got, _, _ := s.ListComments(ctx(t), store.CommentFilter{Record: &tk})
		if diff := cmp.Diff([]string{"yes"}, bodies(got)); diff != "" {
			t.Errorf("comments (-want +got):\n%s", diff)
		}
		msgs, _, err := s.ListOutbox(ctx(t), store.OutboxFilter{})
		if err != nil || len(msgs) != 1 || msgs[0].To != "ann@example.com" || msgs[0].Kind != "comment" {
			t.Errorf("outbox after the comment: %+v, %v", msgs, err)
		}
	})

	t.Run("Files/PutGetListDelete", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-1"})
		data := bytes.Repeat([]byte{0, 1, 2, 0xff, '\n'}, 300_000) // 1.5 MB, not UTF-8
		w := store.Write{Actor: "user:ann", By: "ann"}
		created, rev, err := s.PutFile(ctx(t), w, store.File{Record: tk, Name: "shot.png", ContentType: "image/png", Data: data})
		if err != nil || !created || rev == 0 {
			t.Fatalf("PutFile: created %v, rev %d, %v", created, rev, err)
		}
		got, err := s.GetFile(ctx(t), tk, "shot.png")
		sum := sha256.Sum256(data)
		if err != nil || !bytes.Equal(got.Data, data) || got.Size != int64(len(data)) || got.SHA256 != hex.EncodeToString(sum[:]) ||
			got.ContentType != "image/png" || got.CreatedBy != "ann" || got.CreatedAt.IsZero() || got.Record != tk {
			t.Fatalf("GetFile: %v, size %d, sha %s, type %s, by %s", err, got.Size, got.SHA256, got.ContentType, got.CreatedBy)
		}
		created, _, err = s.PutFile(ctx(t), w, store.File{Record: tk, Name: "shot.png", ContentType: "text/plain", Data: []byte("v2")})
		if err != nil || created {
			t.Errorf("PutFile again: created %v, %v", created, err)
		}
		if _, _, err := s.PutFile(ctx(t), w, store.File{Record: tk, Name: "empty.txt", ContentType: "text/plain"}); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListFiles(ctx(t), tk)
		if err != nil || len(list) != 2 || list[0].Name != "empty.txt" || list[1].Name != "shot.png" || list[1].Size != 2 ||
			list[1].Data != nil || list[0].Size != 0 {
			t.Errorf("ListFiles: %+v, %v", list, err)
		}
		if e, err := s.GetFile(ctx(t), tk, "empty.txt"); err != nil || len(e.Data) != 0 || e.Data == nil {
			t.Errorf("GetFile(empty): %v, %v", e.Data, err)
		}
		if _, err := s.DeleteFile(ctx(t), w, tk, "shot.png"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetFile(ctx(t), tk, "shot.png")
		wantCode(t, err, access.CodeNotFound)
		_, err = s.DeleteFile(ctx(t), w, tk, "shot.png")
		wantCode(t, err, access.CodeNotFound)
		_, _, err = s.PutFile(ctx(t), w, store.File{Record: access.Ref{Type: "ticket", ID: "nope"}, Name: "a", Data: []byte("a")})
		wantCode(t, err, access.CodeNotFound)

		// Audited: put, replace, put, delete; by the actor, without the bytes.
		entries, _, err := s.ListAudit(ctx(t), store.AuditFilter{Target: "record:ticket/TK-1", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.Action != store.FilePutAction && e.Action != store.FileDeleteAction {
				continue
			}
			actions = append(actions, e.Action)
			if e.Actor != "user:ann" || len(e.Before)+len(e.After) > 400 {
				t.Errorf("audit entry %s: actor %s, %d bytes of before and after", e.Action, e.Actor, len(e.Before)+len(e.After))
			}
		}
		want := []string{store.FileDeleteAction, store.FilePutAction, store.FilePutAction, store.FilePutAction}
		if diff := cmp.Diff(want, actions); diff != "" {
			t.Errorf("audit actions, newest first (-want +got):\n%s", diff)
		}
		if len(entries) >= 4 {
			var before struct{ SHA256 string }
			_ = json.Unmarshal(entries[2].Before, &before)
			if before.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("the replace's before names sha256 %q", before.SHA256)
			}
		}
	})

	t.Run("GoWithTheRecord", func(t *testing.T) {
		s := open(t, b)
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-1"})
		post(t, s, "old", false)
		if _, _, err := s.PutFile(ctx(t), by, store.File{Record: tk, Name: "a.txt", Data: []byte("a")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteRecord(ctx(t), by, tk.Type, tk.ID); err != nil {
			t.Fatal(err)
		}
		mustPutRecord(t, s, &access.Record{Type: "ticket", ID: "TK-1"})
		cs, _, err := s.ListComments(ctx(t), store.CommentFilter{Record: &tk})
		fs, ferr := s.ListFiles(ctx(t), tk)
		if err != nil || ferr != nil || len(cs) != 0 || len(fs) != 0 {
			t.Errorf("a record created again has %d comments and %d files (%v, %v)", len(cs), len(fs), err, ferr)
		}
		since := time.Time{}
		feed, _, _ := s.ListComments(ctx(t), store.CommentFilter{Since: &since})
		if len(feed) != 0 {
			t.Errorf("the feed keeps %d comments of a deleted record", len(feed))
		}
	})
}
