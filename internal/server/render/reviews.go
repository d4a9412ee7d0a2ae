package render

import (
	"time"

	"github.com/portcullis-dev/portcullis/internal/store"
)

func init() {
	doneMessages["review_started"] = "The access review was started. The reviewer got a message."
	doneMessages["review_answered"] = "Your answer was saved."
	doneMessages["review_kept_all"] = "Every remaining entry is marked Keep."
	doneMessages["review_closed"] = "The review was closed: revoked access has ended."
}

// ReviewPerson is one row of an access review page: a person and every
// item of the review about it (governance.md §2: one row per person with
// their access).
type ReviewPerson struct {
	ID, Name, Email, Status string
	LastLogin               *time.Time
	Items                   []ReviewLine
	// Answerable counts the items the viewer may answer; Open those of
	// them without a decision.
	Answerable, Open int
}

// ReviewLine is an item in a person's row, with its account's name.
type ReviewLine struct {
	store.ReviewItem
	AccountName string
	// Yours is set when the viewer answers it.
	Yours bool
}

// ReviewPeople groups a review's items by person, in the items' order
// (by user id); mine says which items the viewer answers and name gives
// an account's display name.
func ReviewPeople(items []store.ReviewItem, mine func(store.ReviewItem) bool, name func(string) string) []ReviewPerson {
	var out []ReviewPerson
	for _, it := range items {
		if len(out) == 0 || out[len(out)-1].ID != it.UserID {
			p := ReviewPerson{ID: it.UserID, Name: it.User.Name, Email: it.User.Email, Status: it.User.Status, LastLogin: it.User.LastLoginAt}
			if p.Name == "" {
				p.Name = it.UserID
			}
			out = append(out, p)
		}
		p := &out[len(out)-1]
		l := ReviewLine{ReviewItem: it, AccountName: name(it.Account), Yours: mine(it)}
		if l.Yours {
			p.Answerable++
			if it.Decision == nil {
				p.Open++
			}
		}
		p.Items = append(p.Items, l)
	}
	return out
}

// ReviewChoices are the start form's choices: what happens to unanswered
// entries and the schedule.
func ReviewChoices(onNoAnswer, schedule string) (answers, schedules []Choice) {
	for _, c := range []Choice{{Value: "keep", Label: "Keep their access"}, {Value: "revoke", Label: "Revoke their access"}} {
		c.Selected = c.Value == onNoAnswer
		answers = append(answers, c)
	}
	for _, c := range []Choice{{Value: "", Label: "Once"}, {Value: "monthly", Label: "Every month"}, {Value: "quarterly", Label: "Every quarter"}} {
		c.Selected = c.Value == schedule
		schedules = append(schedules, c)
	}
	return answers, schedules
}

// DecisionText is the item's decision, "" while it has none.
func (l ReviewLine) DecisionText() string {
	if l.Decision == nil {
		return ""
	}
	return *l.Decision
}

// Answered counts a review's answered items.
func Answered(c store.ReviewCounts) int { return c.Total - c.Open }

// OutcomeText names the item's outcome for people ("" while open).
func (l ReviewLine) OutcomeText() string {
	switch l.Outcome {
	case store.OutcomeKept:
		return "Kept"
	case store.OutcomeRevoked:
		return "Revoked"
	case store.OutcomeGone:
		return "No longer there"
	}
	return ""
}

// ScheduleText names a review's schedule for people ("" for none).
func ScheduleText(s *string) string {
	switch {
	case s == nil:
		return ""
	case *s == store.ScheduleMonthly:
		return "Every month"
	}
	return "Every quarter"
}
