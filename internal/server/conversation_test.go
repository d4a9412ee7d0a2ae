package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/portcullis-dev/portcullis/internal/app"
	"github.com/portcullis-dev/portcullis/internal/server"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// conversationWorld adds two tickets of C1 created by u10 to the test
// world: T2 shared with C2's user "other" read_write (a team entry: the
// path by which another company's user reads it) and T3 shared with
// "other" read-only.
func conversationWorld(t *testing.T, env *testEnv) {
	t.Helper()
	admin := env.bearer()
	for id, access := range map[string]string{"T2": "read_write", "T3": "read"} {
		res := admin.do("PUT", "/api/v1/records/ticket/"+id, map[string]any{"owner": "C1", "creator": "u10",
			"teams":      []map[string]string{{"principal": "user:other", "access": access}},
			"attributes": map[string]any{"title": "Printer " + id, "status": "new"}})
		if res.status != http.StatusCreated {
			t.Fatalf("PUT ticket %s: %d %s", id, res.status, res.body)
		}
	}
}

type commentJSON struct {
	ID         string `json:"id"`
	Body       string `json:"body"`
	Internal   bool   `json:"internal"`
	AuthorName string `json:"author_name"`
	Author     string `json:"author"`
	Mine       bool   `json:"mine"`
}

func comments(t *testing.T, c *client, path string) (map[string]commentJSON, response) {
	t.Helper()
	res := c.do("GET", path, nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.status, res.body)
	}
	var page struct{ Items []commentJSON }
	if err := json.Unmarshal([]byte(res.body), &page); err != nil {
		t.Fatal(err)
	}
	out := map[string]commentJSON{}
	for _, cm := range page.Items {
		out[cm.Body] = cm
	}
	return out, res
}

// newComments returns the recipients of comment messages written since
// the outbox held seen (updated in place), sorted.
func newComments(t *testing.T, env *testEnv, seen map[string]bool) (to []string, bodies map[string]string) {
	t.Helper()
	msgs, _, err := env.st.ListOutbox(context.Background(), store.OutboxFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	bodies = map[string]string{}
	for _, m := range msgs {
		if m.Kind != "comment" || seen[m.ID] {
			continue
		}
		seen[m.ID] = true
		to = append(to, m.To)
		bodies[m.To] = m.Text
	}
	sort.Strings(to)
	return to, bodies
}

// TestComments is the conversation's HTTP contract (records.md §2) on
// both databases: reads follow the record (404), internal comments never
// reach external users, authors of another company are "another
// company", posting needs update, and the mail goes to the creator and
// earlier commenters who can still read, never the author.
func TestComments(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		conversationWorld(t, env)
		admin, u10, u20, other := env.bearer(), env.as("u10"), env.as("u20"), env.as("other")
		const t2 = "/api/v1/records/ticket/T2/comments"
		seen := map[string]bool{}

		res := u10.do("POST", t2, map[string]any{"body": "  The printer is on fire.  "})
		if res.status != http.StatusCreated || res.header.Get("Portcullis-Revision") == "" {
			t.Fatalf("u10 posts: %d %s", res.status, res.body)
		}
		var mine commentJSON
		_ = json.Unmarshal([]byte(res.body), &mine)
		if mine.Body != "The printer is on fire." || !mine.Mine || mine.AuthorName != "Secret Person u10" || mine.Author != "" {
			t.Errorf("u10's own comment: %+v", mine)
		}
		if to, _ := newComments(t, env, seen); len(to) != 0 {
			t.Errorf("the creator's own first comment mailed %v", to)
		}
		if res := admin.do("POST", t2, map[string]any{"body": "internal: customer is grumpy", "internal": true}); res.status != http.StatusCreated {
			t.Fatalf("admin posts internal: %d %s", res.status, res.body)
		}
		if to, _ := newComments(t, env, seen); len(to) != 0 {
			t.Errorf("an internal comment mailed external users: %v", to)
		}
		if res := admin.do("POST", t2, map[string]any{"body": "We are on it."}); res.status != http.StatusCreated {
			t.Fatalf("admin posts: %d %s", res.status, res.body)
		}
		if to, bodies := newComments(t, env, seen); strings.Join(to, ",") != "u10@example.com" || !strings.Contains(bodies["u10@example.com"], "Support wrote") {
			t.Errorf("admin's comment mailed %v: %v", to, bodies)
		}

		// Another company's user (through a team entry) sees the
		// conversation without internal comments, and u10 as "another
		// company": never its name, id or email.
		got, raw := comments(t, other, t2)
		if len(got) != 2 || got["The printer is on fire."].AuthorName != "another company" || got["We are on it."].AuthorName != "Support" {
			t.Errorf("other's view: %+v", got)
		}
		for _, leak := range []string{"u10", "Secret Person", "@example.com", "grumpy", `"author"`, "admin"} {
			if strings.Contains(raw.body, leak) {
				t.Errorf("other's view names %q: %s", leak, raw.body)
			}
		}
		if as, _ := comments(t, admin, t2+"?as_user=other"); len(as) != 2 || as["The printer is on fire."].AuthorName != "another company" {
			t.Errorf("as_user=other: %+v", as)
		}
		if res := other.do("POST", t2, map[string]any{"body": "Ours burns too."}); res.status != http.StatusCreated {
			t.Fatalf("other posts: %d %s", res.status, res.body)
		}
		if to, bodies := newComments(t, env, seen); strings.Join(to, ",") != "admin@example.com,u10@example.com" ||
			!strings.Contains(bodies["u10@example.com"], "another company wrote") || !strings.Contains(bodies["admin@example.com"], "other wrote") {
			t.Errorf("other's comment mailed %v: %v", to, bodies)
		}

		// A colleague of u10 sees its name; staff see everything with ids.
		got, _ = comments(t, u20, t2)
		if len(got) != 3 || got["The printer is on fire."].AuthorName != "Secret Person u10" || got["Ours burns too."].AuthorName != "another company" {
			t.Errorf("u20's view: %+v", got)
		}
		got, _ = comments(t, admin, t2)
		if len(got) != 4 || !got["internal: customer is grumpy"].Internal || got["Ours burns too."].Author != "other" || got["Ours burns too."].AuthorName != "other" {
			t.Errorf("staff view: %+v", got)
		}

		// A user who can no longer read the ticket gets no mail.
		if res := admin.do("PATCH", "/api/v1/records/ticket/T2", map[string]any{"teams": []any{}}); res.status != http.StatusOK {
			t.Fatalf("unshare: %d %s", res.status, res.body)
		}
		if res := u20.do("POST", t2, map[string]any{"body": "Any news?"}); res.status != http.StatusCreated {
			t.Fatalf("u20 posts: %d %s", res.status, res.body)
		}
		if to, _ := newComments(t, env, seen); strings.Join(to, ",") != "admin@example.com,u10@example.com" {
			t.Errorf("u20's comment mailed %v (other lost the ticket)", to)
		}

		for _, tc := range []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
			status int
		}{
			{"invisible record is 404 to read", other, "GET", "/api/v1/records/ticket/T1/comments", nil, 404},
			{"invisible record is 404 to post", other, "POST", "/api/v1/records/ticket/T1/comments", map[string]any{"body": "hi"}, 404},
			{"lost record is 404", other, "GET", t2, nil, 404},
			{"read-only share cannot post", other, "POST", "/api/v1/records/ticket/T3/comments", map[string]any{"body": "hi"}, 403},
			{"read-only share reads", other, "GET", "/api/v1/records/ticket/T3/comments", nil, 200},
			{"internal is for staff", u10, "POST", t2, map[string]any{"body": "psst", "internal": true}, 403},
			{"blank body", u10, "POST", t2, map[string]any{"body": " \n "}, 400},
			{"body too long", u10, "POST", t2, map[string]any{"body": strings.Repeat("x", app.MaxCommentBody+1)}, 400},
			{"control characters", u10, "POST", t2, map[string]any{"body": "a\u0007b"}, 400},
			{"unknown field", u10, "POST", t2, map[string]any{"body": "a", "author": "admin"}, 400},
			{"type without comments", admin, "GET", "/api/v1/records/invoice/IN1/comments", nil, 404},
			{"auditor cannot post", env.as("auditor"), "POST", t2, map[string]any{"body": "hi"}, 403},
			{"feed is for staff", u10, "GET", "/api/v1/comments", nil, 403},
			{"feed needs a time", admin, "GET", "/api/v1/comments?updated_since=yesterday", nil, 400},
			{"feed takes no record filter", admin, "GET", "/api/v1/comments?type=ticket", nil, 400},
		} {
			if res := tc.c.do(tc.method, tc.path, tc.body); res.status != tc.status {
				t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, res.status, res.body, tc.status)
			}
		}
		if res := u10.do("POST", t2, map[string]any{"body": strings.Repeat("ü", app.MaxCommentBody/2)}); res.status != http.StatusCreated {
			t.Errorf("a 16 KiB comment: %d", res.status)
		}

		// The staff feed: every record, internal comments included, from
		// updated_since on, oldest first, paged.
		all, _ := comments(t, admin, "/api/v1/comments")
		if len(all) != 6 || !all["internal: customer is grumpy"].Internal {
			t.Errorf("feed: %d comments %+v", len(all), all)
		}
		var page struct {
			Items []struct {
				CreatedAt string `json:"created_at"`
			}
			NextCursor string `json:"next_cursor"`
		}
		_ = json.Unmarshal([]byte(admin.do("GET", "/api/v1/comments?limit=4", nil).body), &page)
		if len(page.Items) != 4 || page.NextCursor == "" {
			t.Fatalf("feed page: %+v", page)
		}
		since := url.QueryEscape(page.Items[3].CreatedAt)
		rest, _ := comments(t, admin, "/api/v1/comments?updated_since="+since)
		if len(rest) != 3 {
			t.Errorf("feed since the fourth comment: %+v", rest)
		}
		next, _ := comments(t, admin, "/api/v1/comments?limit=4&cursor="+url.QueryEscape(page.NextCursor))
		if len(next) != 2 {
			t.Errorf("feed's second page: %+v", next)
		}
	})
}

type fileJSON struct {
	Name          string  `json:"name"`
	Size          int64   `json:"size"`
	Type          string  `json:"type"`
	SHA256        string  `json:"sha256"`
	CreatedBy     *string `json:"created_by"`
	CreatedByName string  `json:"created_by_name"`
}

// TestFiles is the files' HTTP contract (records.md §2) on both
// databases: visibility follows the record, external users attach only
// where the type allows it and they may update, downloads are
// attachments with nosniff in the stored type (never HTML), names and
// sizes are checked, uploaders of another company are masked, and every
// put and delete is audited.
func TestFiles(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		conversationWorld(t, env)
		admin, u10, u20, other, adm80 := env.bearer(), env.as("u10"), env.as("u20"), env.as("other"), env.as("adm80")
		const t2 = "/api/v1/records/ticket/T2/files/"
		png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0, 0xff}, 5000)...)
		put := func(c *client, path, ct string, data []byte) response {
			t.Helper()
			return c.send("PUT", path, ct, "", bytes.NewReader(data))
		}

		res := put(u10, t2+url.PathEscape("screen shot.png"), "image/png", png)
		var f fileJSON
		_ = json.Unmarshal([]byte(res.body), &f)
		sum := sha256.Sum256(png)
		if res.status != http.StatusCreated || f.Name != "screen shot.png" || f.Size != int64(len(png)) || f.Type != "image/png" ||
			f.SHA256 != hex.EncodeToString(sum[:]) || f.CreatedBy == nil || *f.CreatedBy != "u10" {
			t.Fatalf("u10 attaches: %d %s", res.status, res.body)
		}
		if res := put(u10, t2+url.PathEscape("screen shot.png"), "image/png", png); res.status != http.StatusOK {
			t.Errorf("replace: %d %s", res.status, res.body)
		}
		if res := put(other, t2+"page.html", "text/html; charset=utf-8", []byte("<script>alert(1)</script>")); res.status != http.StatusCreated {
			t.Errorf("other (read_write team) attaches: %d %s", res.status, res.body)
		}

		// The download: the bytes, as an attachment, nosniff, stored type.
		dl := other.do("GET", t2+url.PathEscape("screen shot.png"), nil)
		if dl.status != http.StatusOK || dl.body != string(png) || dl.header.Get("Content-Type") != "image/png" ||
			dl.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(dl.header.Get("Content-Disposition"), "attachment;") ||
			!strings.Contains(dl.header.Get("Content-Disposition"), "screen shot.png") {
			t.Errorf("download: %d %v", dl.status, dl.header)
		}
		if h := u10.do("GET", t2+"page.html", nil); h.status != http.StatusOK || strings.Contains(h.header.Get("Content-Type"), "html") ||
			!strings.HasPrefix(h.header.Get("Content-Disposition"), "attachment") || !strings.Contains(h.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("an HTML file is served as %q, %q", h.header.Get("Content-Type"), h.header.Get("Content-Disposition"))
		}

		// The list: another company's uploader is masked both ways.
		list := func(c *client, path string) map[string]fileJSON {
			t.Helper()
			res := c.do("GET", path, nil)
			if res.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, res.status, res.body)
			}
			var page struct{ Items []fileJSON }
			_ = json.Unmarshal([]byte(res.body), &page)
			out := map[string]fileJSON{}
			for _, f := range page.Items {
				out[f.Name] = f
			}
			return out
		}
		seenByOther := list(other, "/api/v1/records/ticket/T2/files")
		if f := seenByOther["screen shot.png"]; len(seenByOther) != 2 || f.CreatedBy != nil || f.CreatedByName != "another company" {
			t.Errorf("other's list: %+v", seenByOther)
		}
		if f := list(u20, "/api/v1/records/ticket/T2/files")["screen shot.png"]; f.CreatedBy == nil || *f.CreatedBy != "u10" || f.CreatedByName != "Secret Person u10" {
			t.Errorf("u20's list: %+v", f)
		}

		// Invoices: staff attach, readers download, customers do not attach.
		const in1 = "/api/v1/records/invoice/IN1/files/IN1.pdf"
		if res := put(admin, in1, "application/pdf", []byte("%PDF-1.7")); res.status != http.StatusCreated {
			t.Errorf("admin attaches the invoice PDF: %d %s", res.status, res.body)
		}
		if dl := adm80.do("GET", in1, nil); dl.status != http.StatusOK || dl.body != "%PDF-1.7" || dl.header.Get("Content-Type") != "application/pdf" {
			t.Errorf("adm80 downloads the invoice PDF: %d %v", dl.status, dl.header)
		}
		if f := list(adm80, "/api/v1/records/invoice/IN1/files")["IN1.pdf"]; f.CreatedByName != "Support" || f.CreatedBy != nil {
			t.Errorf("a staff upload as a customer sees it: %+v", f)
		}

		long := strings.Repeat("n", app.MaxFileName+1)
		for _, tc := range []struct {
			name   string
			c      *client
			method string
			path   string
			status int
		}{
			{"invisible record: list", other, "GET", "/api/v1/records/ticket/T1/files", 404},
			{"invisible record: download", other, "GET", "/api/v1/records/ticket/T1/files/x", 404},
			{"invisible record: put", other, "PUT", "/api/v1/records/ticket/T1/files/x", 404},
			{"invisible invoice", u10, "GET", in1, 404},
			{"no such file", u10, "GET", t2 + "nope.txt", 404},
			{"read-only share cannot attach", other, "PUT", "/api/v1/records/ticket/T3/files/x.txt", 403},
			{"no external_files on invoices", adm80, "PUT", in1, 403},
			{"no external_files on invoices: delete", adm80, "DELETE", in1, 403},
			{"auditor cannot attach", env.as("auditor"), "PUT", t2 + "x.txt", 403},
			{"type without files", admin, "GET", "/api/v1/records/shipment/SH1/files", 404},
			{"slash in the name", u10, "PUT", t2 + "a%2Fb.txt", 400},
			{"control character in the name", u10, "PUT", t2 + "a%01b.txt", 400},
			{"name too long", u10, "PUT", t2 + long, 400},
			{"unknown parameter", u10, "PUT", t2 + "x.txt?as_user=admin", 400},
		} {
			res := tc.c.send(tc.method, tc.path, "text/plain", "", strings.NewReader("hello"))
			if res.status != tc.status {
				t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, res.status, res.body, tc.status)
			}
		}
		if res := put(u10, t2+strings.Repeat("é", app.MaxFileName), "", []byte("x")); res.status != http.StatusCreated || !strings.Contains(res.body, "application/octet-stream") {
			t.Errorf("a 200-character name without a type: %d %s", res.status, res.body)
		}
		if res := put(u10, t2+"bad.bin", "not a type", []byte("x")); res.status != http.StatusBadRequest {
			t.Errorf("a bad content type: %d %s", res.status, res.body)
		}

		// Delete, audited with put.
		if res := u10.do("DELETE", t2+url.PathEscape("screen shot.png"), nil); res.status != http.StatusNoContent {
			t.Errorf("delete: %d %s", res.status, res.body)
		}
		if res := u10.do("DELETE", t2+url.PathEscape("screen shot.png"), nil); res.status != http.StatusNotFound {
			t.Errorf("delete again: %d %s", res.status, res.body)
		}
		audit := admin.do("GET", "/api/v1/audit?target="+url.QueryEscape("record:ticket/T2")+"&limit=50", nil)
		for _, want := range []string{`"action":"record.file_put"`, `"action":"record.file_delete"`, `"actor":"user:u10"`, `"actor":"user:other"`} {
			if !strings.Contains(strings.ReplaceAll(audit.body, " ", ""), want) {
				t.Errorf("audit of T2 lacks %s: %s", want, audit.body)
			}
		}

		// --max-file-size: a server with a 1000-byte limit on the same
		// database takes 1000 bytes and refuses 1001 with 413.
		small := server.New(env.st, env.eng, server.Config{Conversation: app.ConversationConfig{MaxFileSize: 1000}})
		hs := httptest.NewServer(small.Handler())
		defer hs.Close()
		for n, want := range map[int]int{1000: http.StatusCreated, 1001: http.StatusRequestEntityTooLarge, 5 << 20: http.StatusRequestEntityTooLarge} {
			req, _ := http.NewRequest("PUT", hs.URL+t2+"limit-"+strings.Repeat("x", n%7)+".bin", bytes.NewReader(make([]byte, n)))
			req.Header.Set("Authorization", "Bearer "+env.token)
			req.Header.Set("Content-Type", "application/octet-stream")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != want {
				t.Errorf("%d bytes with a 1000-byte limit: %d, want %d", n, res.StatusCode, want)
			}
		}
	})
}

// upload posts a multipart form with one file, as a browser's upload form.
func (b *browser) upload(path, name, ctype string, data []byte) htmlPage {
	b.env.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", ctype)
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(data)
	_ = mw.Close()
	res, err := b.hc.Post(b.env.srv.URL+path, mw.FormDataContentType(), &body)
	if err != nil {
		b.env.t.Fatal(err)
	}
	return readPage(b.env.t, res)
}

// TestPagesConversation drives the record pages' conversation and files
// as a browser without JavaScript: the portal's forms for who may update,
// none for a read-only reader or under view as, errors shown on the page,
// and the console's internal comments and uploads.
func TestPagesConversation(t *testing.T) {
	backends(t, func(t *testing.T, env *testEnv) {
		conversationWorld(t, env)
		u10, other, staff := env.browse("u10"), env.browse("other"), env.browse("admin")

		u10.get("/a/C1/ticket/T2").must(t, http.StatusOK, "Conversation", "No comments yet.", "Add a comment", "Attach a file")
		u10.post("/a/C1/ticket/T2/comments", url.Values{"body": {"Hello from the portal"}}).
			must(t, http.StatusOK, "Your comment was posted.", "Hello from the portal", "Secret Person u10")
		u10.post("/a/C1/ticket/T2/comments", url.Values{"body": {"  "}}).must(t, http.StatusBadRequest, "body is required", "Hello from the portal")
		u10.upload("/a/C1/ticket/T2/files", "note.txt", "text/plain", []byte("printer log")).
			must(t, http.StatusOK, "The file was attached.", `href="/a/C1/ticket/T2/files/note.txt"`)
		res, err := u10.hc.Get(env.srv.URL + "/a/C1/ticket/T2/files/note.txt")
		if err != nil {
			t.Fatal(err)
		}
		dl := readPage(t, res)
		if dl.status != http.StatusOK || dl.body != "printer log" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") ||
			res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("portal download: %d %q %v", dl.status, dl.body, res.Header)
		}

		// The console: every comment, an internal note, an upload.
		staff.get("/admin/records/ticket/T2").must(t, http.StatusOK, "Hello from the portal", "Internal: only staff see it", "note.txt")
		staff.post("/admin/records/ticket/T2/comments", url.Values{"body": {"secret staff note"}, "internal": {"on"}}).
			must(t, http.StatusOK, "Your comment was posted.", "secret staff note", `class="tag">internal`)
		staff.upload("/admin/records/ticket/T2/files", "answer.pdf", "application/pdf", []byte("%PDF")).must(t, http.StatusOK, "The file was attached.", "answer.pdf")
		env.browse("auditor").post("/admin/records/ticket/T2/comments", url.Values{"body": {"hi"}}).must(t, http.StatusForbidden)

		// Another company's reader through a team entry: no names, no
		// internal note; on the read-only share no forms at all.
		other.get("/a/C2/ticket/T2").must(t, http.StatusOK, "Hello from the portal", "another company", "note.txt", "Add a comment")
		other.get("/a/C2/ticket/T2").mustNot(t, "Secret Person", "secret staff note", "u10@")
		other.get("/a/C2/ticket/T3").must(t, http.StatusOK, "Conversation")
		other.get("/a/C2/ticket/T3").mustNot(t, "Add a comment", "Attach a file")
		other.post("/a/C2/ticket/T3/comments", url.Values{"body": {"hi"}}).must(t, http.StatusForbidden)
		other.get("/a/C2/ticket/T1").must(t, http.StatusNotFound)
		other.get("/a/C2/ticket/T1/files/note.txt").must(t, http.StatusNotFound)
		u10.get("/a/C1/ticket/T2").mustNot(t, "secret staff note")

		// View as: the page and downloads, read-only.
		staff.get("/admin/view-as/u10/a/C1/ticket/T2").must(t, http.StatusOK, "Hello from the portal", "note.txt")
		staff.get("/admin/view-as/u10/a/C1/ticket/T2").mustNot(t, "Add a comment", "Attach a file", "secret staff note")
		staff.post("/admin/view-as/u10/a/C1/ticket/T2/comments", url.Values{"body": {"as"}}).must(t, http.StatusForbidden)

		// A message's link finds the record under the reader's account.
		u10.get("/r/ticket/T2").must(t, http.StatusOK, "Hello from the portal")
	})
}
