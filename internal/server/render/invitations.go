package render

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

func init() {
	doneMessages["invitation_sent"] = "The invitation was sent."
	doneMessages["invitation_resent"] = "The invitation was sent again with a new link; the old link no longer works."
	doneMessages["invitation_revoked"] = "The invitation was revoked; the user stays invited."
	doneMessages["reset_sent"] = "A password reset link was sent to the user."
}

// CSVLine is one line of an invitation CSV as a preview shows it.
type CSVLine struct {
	Line                        int
	Email, Name, Role, DaysBack string
	Error                       string
}

// InvitationCSV reads an invitation CSV (email,name,role,days_back; a
// first line naming the columns is skipped) into invitations homed in
// account with one grant there each, and the lines for the preview; a line
// that cannot be read carries its error. locale applies to every line.
func InvitationCSV(text, account, locale string) ([]app.InvitationRequest, []CSVLine, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var reqs []app.InvitationRequest
	var lines []CSVLine
	for n := 1; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, access.FieldErrorf(access.CodeInvalid, "csv", "line %d cannot be read: %v", n, err)
		}
		if n == 1 && len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "email") {
			n--
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			n--
			continue
		}
		for len(rec) < 4 {
			rec = append(rec, "")
		}
		l := CSVLine{Line: n, Email: strings.TrimSpace(rec[0]), Name: strings.TrimSpace(rec[1]), Role: strings.TrimSpace(rec[2]),
			DaysBack: strings.TrimSpace(rec[3])}
		in := app.InvitationRequest{Email: l.Email, Name: l.Name, HomeAccount: account, Locale: locale,
			Grants: []app.InvitationGrant{{Account: account, Role: l.Role}}}
		if l.DaysBack != "" {
			d, err := strconv.Atoi(l.DaysBack)
			if err != nil || d < 0 {
				l.Error = "days_back must be a whole number of days, or empty"
			}
			in.Grants[0].DaysBack = &d
		}
		if len(reqs) >= app.MaxInvitationBatch {
			return nil, nil, access.Errorf(access.CodeTooLarge, "a CSV holds at most %d invitations", app.MaxInvitationBatch)
		}
		reqs = append(reqs, in)
		lines = append(lines, l)
	}
	if len(reqs) == 0 {
		return nil, nil, access.FieldErrorf(access.CodeInvalid, "csv", "the CSV holds no invitation")
	}
	return reqs, lines, nil
}

// MarkCSV puts the per-item problems of a preview on their lines and
// reports whether every line is fine.
func MarkCSV(lines []CSVLine, items []access.ItemError) bool {
	for _, it := range items {
		if it.Index < len(lines) && lines[it.Index].Error == "" {
			lines[it.Index].Error = it.Message
		}
	}
	for _, l := range lines {
		if l.Error != "" {
			return false
		}
	}
	return true
}
