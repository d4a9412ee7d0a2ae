package render

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-dev/portcullis/internal/access"
	"github.com/portcullis-dev/portcullis/internal/app"
)

// FormString returns the form value of key as an Optional: absent when the
// form did not send the key (a field a form does not show keeps its value).
func FormString(form url.Values, key string) app.Optional[string] {
	if _, sent := form[key]; !sent {
		return app.Optional[string]{}
	}
	return app.Some(form.Get(key))
}

// GrantLimits reads a grant form's days back and validity into u, for the
// console's External Access panel and the portal's Company users alike:
// days_back empty means unlimited; valid_from and valid_until are UTC days
// (empty: none), and a day equal to the stored instant's keeps that
// instant, so saving a form unchanged never alters a grant (which a
// protected grant would refuse). Fields the form did not send stay absent.
// A value that does not parse is CodeInvalid with its Field.
func GrantLimits(form url.Values, old *access.Grant, u *app.GrantUpdate) error {
	if _, sent := form["days_back"]; sent {
		v := strings.TrimSpace(form.Get("days_back"))
		n, err := strconv.Atoi(v)
		switch {
		case v == "":
			u.DaysBack = app.Null[int]()
		case err != nil || n < 0:
			return access.FieldErrorf(access.CodeInvalid, "days_back", "days_back must be a whole number of days, 0 or more (empty: unlimited)")
		default:
			u.DaysBack = app.Some(n)
		}
	}
	for _, key := range []string{"valid_from", "valid_until"} {
		if _, sent := form[key]; !sent {
			continue
		}
		dst, stored := &u.ValidFrom, (*time.Time)(nil)
		if key == "valid_until" {
			dst = &u.ValidUntil
		}
		if old != nil {
			stored = old.ValidFrom
			if key == "valid_until" {
				stored = old.ValidUntil
			}
		}
		v := strings.TrimSpace(form.Get(key))
		switch day, err := time.Parse(time.DateOnly, v); {
		case v == "":
			*dst = app.Null[time.Time]()
		case err != nil:
			return access.FieldErrorf(access.CodeInvalid, key, "%s must be a date (YYYY-MM-DD)", key)
		case stored != nil && stored.UTC().Format(time.DateOnly) == v:
			*dst = app.Some(stored.UTC())
		default:
			*dst = app.Some(day.UTC())
		}
	}
	return nil
}

// GrantInputs map the fields of grant errors to the inputs of the grant
// forms (the console's External Access panel, the portal's Company users).
var GrantInputs = map[string]string{
	"principal":   "grant_principal",
	"account":     "grant_account",
	"role":        "grant_role",
	"scope":       "grant_scope",
	"access":      "grant_access",
	"days_back":   "grant_days_back",
	"valid_from":  "grant_valid_from",
	"valid_until": "grant_valid_until",
	"notes":       "grant_notes",
}

// GrantLimitsText is GrantLimits the other way round: a stored grant's
// days back and validity as a grant form shows them (instants as their
// UTC day, "" for none).
func GrantLimitsText(g access.Grant) (daysBack, validFrom, validUntil string) {
	if g.DaysBack != nil {
		daysBack = strconv.Itoa(*g.DaysBack)
	}
	if g.ValidFrom != nil {
		validFrom = g.ValidFrom.UTC().Format(time.DateOnly)
	}
	if g.ValidUntil != nil {
		validUntil = g.ValidUntil.UTC().Format(time.DateOnly)
	}
	return daysBack, validFrom, validUntil
}
