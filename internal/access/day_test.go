package access

import (
	"testing"
	"time"
)

func TestDayOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"2026-06-15", "2026-06-15", true},
		{"1970-01-01", "1970-01-01", true},
		{"1969-12-31", "1969-12-31", true},
		{"2000-02-29", "2000-02-29", true},
		{"2026-05-16T23:30:00-02:00", "2026-05-17", true},
		{"2026-05-17T00:30:00+02:00", "2026-05-16", true},
		{"", "", false},
		{"2026-13-01", "", false},
		{"2026-06-1x", "", false},
		{"yesterday", "", false},
	} {
		n, ok := dayOf(tc.in)
		if ok != tc.ok || (ok && dayString(n) != tc.want) {
			t.Errorf("dayOf(%q) = %s %v, want %s %v", tc.in, dayString(n), ok, tc.want, tc.ok)
		}
		if ok {
			want, _ := Day(tc.in)
			if dayString(n) != want {
				t.Errorf("dayOf(%q) = %s, Day = %s", tc.in, dayString(n), want)
			}
		}
	}
	// Every day of four centuries round-trips through both encodings.
	for d := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2300; d = d.AddDate(0, 0, 1) {
		s := d.Format(time.DateOnly)
		n, ok := dayOf(s)
		if !ok || n != dayNumber(d) || dayString(n) != s {
			t.Fatalf("%s: day %d ok %v, want %d", s, n, ok, dayNumber(d))
		}
	}
}
