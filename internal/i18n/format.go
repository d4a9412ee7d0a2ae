package i18n

import (
	"math"
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

var tags = map[string]language.Tag{"en": language.English, "de": language.German, "zh": language.SimplifiedChinese}

func printer(locale string) *message.Printer {
	t, ok := tags[locale]
	if !ok {
		t = language.English
	}
	return message.NewPrinter(t)
}

// Date layouts per locale: x/text has no date formats, so these follow
// CLDR's medium date of each language.
var (
	dateLayouts = map[string]string{"en": "Jan 2, 2006", "de": "02.01.2006", "zh": "2006年1月2日"}
	timeLayouts = map[string]string{"en": "Jan 2, 2006, 15:04", "de": "02.01.2006, 15:04", "zh": "2006年1月2日 15:04"}
)

// Date formats a calendar day for locale ("Jan 2, 2026", "02.01.2026",
// "2026年1月2日").
func Date(locale string, t time.Time) string {
	l, ok := dateLayouts[locale]
	if !ok {
		l = dateLayouts["en"]
	}
	return t.Format(l)
}

// Deadline formats a due moment for locale: one at midnight UTC is the
// end of the day before, so it shows that day ("by Dec 15, 2026" for
// 2026-12-16T00:00Z, the form's "due by Dec 15"); any other moment as Time.
func Deadline(locale string, t time.Time) string {
	if u := t.UTC(); !t.IsZero() && u.Equal(u.Truncate(24*time.Hour)) {
		return Date(locale, u.Add(-time.Hour))
	}
	return Time(locale, t)
}

// Time formats a moment (in UTC) for locale.
func Time(locale string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	l, ok := timeLayouts[locale]
	if !ok {
		l = timeLayouts["en"]
	}
	return t.UTC().Format(l)
}

// DateString formats a record's date attribute: a YYYY-MM-DD day or an
// RFC 3339 time; anything else is returned as it is.
func DateString(locale, s string) string {
	if len(s) == 10 {
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return Date(locale, t)
		}
	}
	if len(s) > 10 {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return Time(locale, t)
		}
	}
	return s
}

// Number formats x with the locale's separators: whole numbers without
// decimals, others with two ("1.234,5" is "1.234,50").
func Number(locale string, x float64) string {
	p := printer(locale)
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return p.Sprint(number.Decimal(x, number.Scale(0)))
	}
	return p.Sprint(number.Decimal(x, number.Scale(2)))
}

// Money formats amount in the ISO 4217 currency code cur for locale:
// "1.234,56 €" in German, "€1,234.56" in English and Chinese. An unknown
// code formats the plain number followed by the code.
func Money(locale string, amount float64, cur string) string {
	unit, err := currency.ParseISO(strings.ToUpper(strings.TrimSpace(cur)))
	p := printer(locale)
	digits := p.Sprint(number.Decimal(math.Abs(amount), number.Scale(2)))
	sign := ""
	if amount < 0 {
		sign = "-"
	}
	if err != nil {
		return sign + digits + " " + cur
	}
	sym := p.Sprint(currency.Symbol(unit))
	if locale == "de" {
		return sign + digits + " " + sym
	}
	return sign + sym + digits
}

// Decimal formats x with scale decimals and the locale's separators.
func Decimal(locale string, x float64, scale int) string {
	return printer(locale).Sprint(number.Decimal(x, number.Scale(scale)))
}
