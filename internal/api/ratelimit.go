package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimiter is a token bucket per user. Idle buckets (full again) are
// dropped once a minute so the map does not grow with every user ever seen.
type rateLimiter struct {
	limit    rate.Limit
	burst    int
	disabled bool

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
}

func newRateLimiter(perSecond float64, burst int) *rateLimiter {
	return &rateLimiter{
		limit: rate.Limit(perSecond), burst: burst, disabled: perSecond < 0,
		buckets: map[string]*rate.Limiter{}, lastSweep: time.Now(),
	}
}

// allow takes a token for user, or reports the whole seconds to wait (for
// Retry-After) when there is none.
func (l *rateLimiter) allow(user string) (bool, string) {
	if l.disabled {
		return true, ""
	}
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[user]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[user] = b
	}
	l.mu.Unlock()
	res := b.ReserveN(now, 1)
	if !res.OK() {
		return false, "60"
	}
	d := res.DelayFrom(now)
	if d == 0 {
		return true, ""
	}
	res.CancelAt(now)
	secs := int(math.Ceil(d.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return false, strconv.Itoa(secs)
}
