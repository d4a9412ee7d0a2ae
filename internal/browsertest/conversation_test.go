package browsertest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// TestTicketConversationAndFiles is issue #12's browser scenario for
// records.md §2: Tina (Hooli) opens her ticket, posts a comment and
// attaches a screenshot; Anna (Acme), with whom Northwind shared the
// ticket, sees the comment and the file, their author shown as "another
// company"; Northwind's admin adds an internal note in the console that
// neither customer ever sees.
func TestTicketConversationAndFiles(t *testing.T) {
	e := newEnv(t)
	id := "TK-BT-" + uniq()
	if _, _, err := e.st.PutRecord(context.Background(), store.Write{Actor: "test"}, &access.Record{Type: "ticket", ID: id,
		Owner: "C-HOOLI-SITE1", Creator: "U-TINA", Date: clock().UTC().Format("2006-01-02"),
		Teams:      []access.TeamEntry{{Principal: "user:U-ANNA", Access: access.AccessRead}},
		Attributes: map[string]any{"subject": "Scanner at gate 2 is dead", "type": "incident", "status": "new", "site": "C-HOOLI-SITE1"}}); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(t.TempDir(), "gate2-screenshot.png")
	if err := os.WriteFile(shot, []byte("\x89PNG\r\n\x1a\nnot really a picture"), 0o600); err != nil {
		t.Fatal(err)
	}

	tina := e.newTab("tina")
	tina.signInDemo(tinaTix)
	// A message's link to the record lands on the record page.
	tina.mustStatus("open the ticket", tina.open("/r/ticket/"+id), http.StatusOK)
	if loc := tina.location(); loc != "/a/C-HOOLI-SITE1/ticket/"+id {
		t.Fatalf("the ticket link led tina to %s", loc)
	}
	tina.mustSee("Conversation", "No comments yet.", "Files")
	comment := "The scanner at gate 2 shows error E42 since this morning."
	tina.write("Add a comment", comment)
	tina.mustStatus("post", tina.navigate("post the comment", chromedp.Click(button("Post comment"))), http.StatusOK)
	tina.mustSee("Your comment was posted.", comment, "Tina Vogel")
	tina.do("choose the screenshot", chromedp.SetUploadFiles(chromedp.CSS("#file-upload"), []string{shot}))
	tina.mustStatus("upload", tina.navigate("upload the screenshot", chromedp.Click(button("Upload"))), http.StatusOK)
	tina.mustSee("The file was attached.", "gate2-screenshot.png")
	files, err := e.st.ListFiles(context.Background(), access.Ref{Type: "ticket", ID: id})
	if err != nil || len(files) != 1 || files[0].Name != "gate2-screenshot.png" || files[0].CreatedBy != "U-TINA" || files[0].ContentType != "image/png" {
		t.Fatalf("stored files: %+v, %v", files, err)
	}
	href := eval[string](tina, `document.querySelector('#files a[download]').getAttribute('href')`)
	if href != "/a/C-HOOLI-SITE1/ticket/"+id+"/files/gate2-screenshot.png" {
		t.Errorf("the download link is %q", href)
	}
	// The download is an attachment, whatever the browser would sniff.
	got, err := chromedp.Run(tina.ctx, chromedp.Evaluate[string](`fetch(`+jsString(href)+`).then(r => r.headers.get('content-disposition') + '|' + r.headers.get('x-content-type-options'))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "attachment;") || !strings.HasSuffix(got, "|nosniff") {
		t.Errorf("the download's headers: %s", got)
	}

	// Northwind's admin answers and keeps an internal note, in the console.
	adm := e.newTab("admin")
	adm.signInDemo(staffAdm)
	adm.mustStatus("console record", adm.open("/admin/records/ticket/"+id), http.StatusOK)
	adm.mustSee(comment, "Tina Vogel", "gate2-screenshot.png")
	answer := "A technician is on the way."
	adm.write("Add a comment", answer)
	adm.mustStatus("answer", adm.navigate("post the answer", chromedp.Click(button("Post comment"))), http.StatusOK)
	note := "Internal: Hooli's scanners are out of warranty."
	adm.write("Add a comment", note)
	adm.do("mark it internal", chromedp.Click(field("Internal: only staff see it")))
	adm.mustStatus("post internal", adm.navigate("post the note", chromedp.Click(button("Post comment"))), http.StatusOK)
	adm.mustSee("Your comment was posted.", note, "internal")

	// Anna, of another company, reads the ticket through its team entry:
	// the comment and the file, by "another company", never Tina's name;
	// no internal note; no forms (she may only read).
	anna := e.newTab("anna")
	anna.signInDemo(annaL20)
	anna.mustStatus("open the shared ticket", anna.open("/r/ticket/"+id), http.StatusOK)
	anna.mustSee(comment, "another company", "gate2-screenshot.png")
	page := anna.html()
	for _, leak := range []string{"Tina", "U-TINA", "hooli.example", "warranty"} {
		if strings.Contains(page, leak) {
			t.Errorf("anna's ticket page shows %q", leak)
		}
	}
	if n := eval[int](anna, `document.querySelectorAll('main form textarea, main input[type=file]').length`); n != 0 {
		t.Errorf("a read-only reader is offered %d comment or upload controls", n)
	}

	// Tina never sees the internal note either.
	tina.mustStatus("reload", tina.open("/a/C-HOOLI-SITE1/ticket/"+id), http.StatusOK)
	if strings.Contains(tina.html(), "warranty") {
		t.Error("tina sees Northwind's internal note")
	}
	authors := eval[[]string](tina, `[...document.querySelectorAll('.comment-author')].map(e => e.textContent.trim())`)
	if strings.Join(authors, ",") != "Tina Vogel,Support" {
		t.Errorf("tina sees the authors %v, want herself and the supplier", authors)
	}
	tina.mustSee(answer)
}

// write types value into the empty textarea a label names (fill clears
// first, which an empty textarea refuses).
func (b *tab) write(label, value string) {
	b.t.Helper()
	b.do("write "+label, chromedp.WaitVisible(field(label)), chromedp.SendKeys(field(label), value))
}
