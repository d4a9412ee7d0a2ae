package auth

import (
	"testing"
	"time"
)

func TestSessionPolicy_Expired(t *testing.T) {
	created := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	const ns = time.Nanosecond
	tests := []struct {
		name          string
		policy        SessionPolicy
		lastSeen, now time.Duration // after created
		want          bool
	}{
		{"just created", SessionPolicy{}, 0, 0, false},
		{"idle just under", SessionPolicy{}, 0, 12*time.Hour - ns, false},
		{"idle at boundary", SessionPolicy{}, 0, 12 * time.Hour, true},
		{"idle after activity", SessionPolicy{}, 30 * time.Hour, 42*time.Hour - ns, false},
		{"idle after activity at boundary", SessionPolicy{}, 30 * time.Hour, 42 * time.Hour, true},
		{"max age just under", SessionPolicy{}, 7*24*time.Hour - time.Minute, 7*24*time.Hour - ns, false},
		{"max age at boundary", SessionPolicy{}, 7*24*time.Hour - time.Minute, 7 * 24 * time.Hour, true},
		{"max age while active", SessionPolicy{}, 8 * 24 * time.Hour, 8 * 24 * time.Hour, true},
		{"custom idle", SessionPolicy{IdleTimeout: time.Hour}, 0, time.Hour, true},
		{"custom idle under", SessionPolicy{IdleTimeout: time.Hour}, 0, time.Hour - ns, false},
		{"custom max age", SessionPolicy{MaxAge: 2 * time.Hour}, 2*time.Hour - ns, 2 * time.Hour, true},
		{"negative means default", SessionPolicy{IdleTimeout: -1, MaxAge: -1}, 0, 12*time.Hour - ns, false},
		{"now before created", SessionPolicy{}, 0, -time.Hour, false},
	}
	for _, tt := range tests {
		got := tt.policy.Expired(created, created.Add(tt.lastSeen), created.Add(tt.now))
		if got != tt.want {
			t.Errorf("%s: Expired = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSessionPolicy_ExpiresAt(t *testing.T) {
	created := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var p SessionPolicy
	if got, want := p.ExpiresAt(created, created), created.Add(12*time.Hour); !got.Equal(want) {
		t.Errorf("fresh session: ExpiresAt = %v, want %v", got, want)
	}
	if got, want := p.ExpiresAt(created, created.Add(160*time.Hour)), created.Add(168*time.Hour); !got.Equal(want) {
		t.Errorf("near max age: ExpiresAt = %v, want %v", got, want)
	}
	// A zero lastSeen (never recorded) counts as the creation time.
	if got, want := p.ExpiresAt(created, time.Time{}), created.Add(12*time.Hour); !got.Equal(want) {
		t.Errorf("zero lastSeen: ExpiresAt = %v, want %v", got, want)
	}
}
