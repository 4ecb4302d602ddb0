package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Hist is a log-linear latency histogram with about 3% precision from 1 µs
// to hours. Buckets are counted atomically so every receiving goroutine
// records into one Hist, and histograms from worker processes merge by
// adding counts, which percentiles of percentiles could not do.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64
	sum    atomic.Int64 // microseconds
}

const (
	histSubBits = 5 // 32 linear sub-buckets per power of two
	histSub     = 1 << histSubBits
	histBuckets = 40 * histSub
)

func histIndex(us int64) int {
	if us < histSub {
		if us < 0 {
			return 0
		}
		return int(us)
	}
	exp := bits.Len64(uint64(us)) - histSubBits - 1 // us >> exp is in [32, 64)
	idx := (exp+1)*histSub + int(us>>exp) - histSub
	if idx >= histBuckets {
		return histBuckets - 1
	}
	return idx
}

// histValue is the upper bound in µs of bucket i.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	exp := i/histSub - 1
	sub := int64(i%histSub + histSub)
	return ((sub + 1) << exp) - 1
}

// Record adds one observation.
func (h *Hist) Record(d time.Duration) {
	us := d.Microseconds()
	h.counts[histIndex(us)].Add(1)
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// Snapshot returns the counts in a form that travels as JSON between
// processes and merges.
func (h *Hist) Snapshot() HistSnapshot {
	s := HistSnapshot{Buckets: map[int]uint64{}, MaxUS: h.max.Load(), SumUS: h.sum.Load()}
	for i := range h.counts {
		if c := h.counts[i].Load(); c > 0 {
			s.Buckets[i] = c
		}
	}
	return s
}

// HistSnapshot is a Hist's counts; the zero value is an empty histogram.
type HistSnapshot struct {
	Buckets map[int]uint64 `json:"b,omitempty"`
	MaxUS   int64          `json:"max_us"`
	SumUS   int64          `json:"sum_us"`
}

// Merge adds o's counts to s.
func (s *HistSnapshot) Merge(o HistSnapshot) {
	if s.Buckets == nil {
		s.Buckets = map[int]uint64{}
	}
	for i, c := range o.Buckets {
		s.Buckets[i] += c
	}
	s.MaxUS = max(s.MaxUS, o.MaxUS)
	s.SumUS += o.SumUS
}

// Count is the number of observations.
func (s HistSnapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Buckets {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0..1) in milliseconds, NaN when empty.
func (s HistSnapshot) Quantile(q float64) float64 {
	n := s.Count()
	if n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := 0; i < histBuckets; i++ {
		seen += s.Buckets[i]
		if seen >= rank {
			return float64(min(histValue(i), s.MaxUS)) / 1000
		}
	}
	return float64(s.MaxUS) / 1000
}

// Latency summarises a histogram in milliseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary computes the reported percentiles (zeros when empty, so the JSON
// stays valid).
func (s HistSnapshot) Summary() Latency {
	n := s.Count()
	if n == 0 {
		return Latency{}
	}
	return Latency{
		Count: n,
		Mean:  float64(s.SumUS) / float64(n) / 1000,
		P50:   s.Quantile(0.50),
		P90:   s.Quantile(0.90),
		P99:   s.Quantile(0.99),
		P999:  s.Quantile(0.999),
		Max:   float64(s.MaxUS) / 1000,
	}
}
