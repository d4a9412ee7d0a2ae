package demo

import (
	"bytes"
	"fmt"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/store"
)

// conversations gives the demo a ticket conversation and invoice PDFs
// (records.md §2): Tina's newest open ticket at the Hamburg hub carries
// her question, support's answer and an internal note customers never
// see, and Acme's newest invoices have their PDF to download.
func (b *builder) conversations() {
	if b.err != nil {
		return
	}
	w := store.Write{Actor: Actor}
	tickets, _, err := b.st.ListRecords(b.ctx, store.RecordQuery{Type: "ticket", Predicate: &access.Predicate{Type: "ticket", All: true},
		Accounts: b.eng.Subtree("C-HOOLI-SITE1"), Sort: "-date", Limit: 100})
	if err != nil {
		b.fail("tickets: %w", err)
		return
	}
	for _, t := range tickets {
		if t.Creator != "U-TINA" {
			continue
		}
		ref := access.Ref{Type: "ticket", ID: t.ID}
		for _, c := range []store.Comment{
			{Author: "U-TINA", AuthorKind: access.KindExternal, Body: "The label printer at dock 2 jams every morning since Monday. The error it shows is attached."},
			{Author: "U-LENA", AuthorKind: access.KindInternal, Body: "Thank you, Tina. A technician will come on Thursday morning; please keep the printer switched on."},
			{Author: "U-LENA", AuthorKind: access.KindInternal, Internal: true, Body: "Out of warranty since March: quote the visit (support-eu)."},
		} {
			c.Record = ref
			if _, _, err := b.st.CreateComment(b.ctx, w, c); err != nil {
				b.fail("comment: %w", err)
				return
			}
		}
		if _, _, err := b.st.PutFile(b.ctx, store.Write{Actor: "user:U-TINA", By: "U-TINA"}, store.File{Record: ref, Name: "printer-error.txt",
			ContentType: "text/plain; charset=utf-8", Data: []byte("E-17 PAPER JAM (sensor 3)\n")}); err != nil {
			b.fail("file: %w", err)
			return
		}
		break
	}
	invoices, _, err := b.st.ListRecords(b.ctx, store.RecordQuery{Type: "invoice", Predicate: &access.Predicate{Type: "invoice", All: true},
		Accounts: b.eng.Subtree("C-ACME"), Sort: "-date", Limit: 3})
	if err != nil {
		b.fail("invoices: %w", err)
		return
	}
	for _, inv := range invoices {
		if _, _, err := b.st.PutFile(b.ctx, w, store.File{Record: access.Ref{Type: "invoice", ID: inv.ID}, Name: inv.ID + ".pdf",
			ContentType: "application/pdf", Data: invoicePDF(inv)}); err != nil {
			b.fail("invoice pdf: %w", err)
			return
		}
	}
}

// invoicePDF is a one-page PDF naming the invoice, its date and amount.
func invoicePDF(inv *access.Record) []byte {
	text := fmt.Sprintf("Northwind Supply - Invoice %s - %v - %v %v", inv.ID, inv.Attributes["invoice_date"],
		inv.Attributes["amount"], inv.Attributes["currency"])
	stream := fmt.Sprintf("BT /F1 14 Tf 56 780 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return out.Bytes()
}
