package access

import "time"

// Days are counted from 1970-01-01 (day 0) in UTC: days_back cutoffs and
// record dates compare as integers on the decision path, without
// formatting or allocating.

// daysFromCivil returns the day number of a proleptic Gregorian date
// (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int32 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int32(era*146097 + doe - 719468)
}

// dayOf returns the day number of a record date ("YYYY-MM-DD" or an RFC 3339
// instant, counted as its UTC date), and false for an undated or invalid
// one.
func dayOf(date string) (int32, bool) {
	if len(date) == 10 && date[4] == '-' && date[7] == '-' {
		y, ok1 := digits(date[0:4])
		m, ok2 := digits(date[5:7])
		d, ok3 := digits(date[8:10])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			return daysFromCivil(y, m, d), true
		}
		return 0, false
	}
	if date == "" {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, date)
	if err != nil {
		return 0, false
	}
	return dayNumber(t), true
}

// dayNumber is the UTC day number of an instant.
func dayNumber(t time.Time) int32 {
	s := t.Unix()
	if s < 0 {
		return int32((s - 86399) / 86400)
	}
	return int32(s / 86400)
}

// dayString formats a day number as YYYY-MM-DD.
func dayString(n int32) string {
	return time.Unix(int64(n)*86400, 0).UTC().Format(time.DateOnly)
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
