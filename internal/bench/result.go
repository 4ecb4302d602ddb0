package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one run of one scenario against one target: one JSON line.
// Fields a scenario does not measure stay zero and are omitted.
type Result struct {
	Time     string         `json:"time"`
	Scenario string         `json:"scenario"`
	Target   string         `json:"target"`
	Protocol Protocol       `json:"protocol"`
	Params   map[string]any `json:"params"`
	// LoadAvg is /proc/loadavg at the end of the run: a busy machine
	// (other builds, other tests) shows here and explains noisy figures.
	LoadAvg string `json:"loadavg,omitempty"`

	Connections    int     `json:"connections"`
	ConnectFailed  int     `json:"connect_failed"`
	ConnectPerSec  float64 `json:"connect_per_s,omitempty"`
	ServerRSSStart int64   `json:"server_rss_start_bytes,omitempty"`
	ServerRSSEnd   int64   `json:"server_rss_end_bytes,omitempty"`
	RSSPerConn     float64 `json:"server_rss_per_conn_bytes,omitempty"`

	Publishes      int64   `json:"publishes,omitempty"`
	PublishFailed  int64   `json:"publish_failed,omitempty"`
	PublishPerSec  float64 `json:"publish_per_s,omitempty"` // achieved
	Expected       int64   `json:"expected,omitempty"`
	Deliveries     int64   `json:"deliveries,omitempty"`
	DeliveriesPerS float64 `json:"deliveries_per_s,omitempty"`
	DeliveryRatio  float64 `json:"delivery_ratio,omitempty"`
	Duplicates     int64   `json:"duplicates"`
	Gaps           int64   `json:"gaps"`
	OutOfOrder     int64   `json:"out_of_order"`
	Dropped        int64   `json:"dropped"` // connections the server closed
	DropReason     string  `json:"drop_reason,omitempty"`

	Latency        Latency `json:"latency"`                   // publish → receive
	PublishLatency Latency `json:"publish_http_latency"`      // HTTP round trip
	MemberEvents   int64   `json:"member_events,omitempty"`   // presence
	MemberExpected int64   `json:"member_expected,omitempty"` // presence

	CPU                 CPUReport `json:"cpu"`
	ServerCPUPerDeliver float64   `json:"server_cpu_us_per_delivery,omitempty"`

	Errors []string `json:"errors,omitempty"`
}

func newResult(sc string, t *Target, params map[string]any) *Result {
	return &Result{Time: time.Now().UTC().Format(time.RFC3339), Scenario: sc, Target: t.Name, Protocol: t.Protocol, Params: params}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func (r *Result) addErr(format string, args ...any) {
	if len(r.Errors) < 10 {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// finishDeliveries fills the derived delivery figures.
func (r *Result) finishDeliveries(g GroupReport, expected int64, firstSend time.Time) {
	r.Deliveries = g.Deliveries
	r.Expected = expected
	r.Duplicates = g.Duplicates
	r.OutOfOrder = g.OutOfOrder
	r.Dropped, r.DropReason = g.Dropped, g.DropReason
	if expected > 0 {
		r.Gaps = max(expected-g.Unique, 0)
		r.DeliveryRatio = float64(g.Unique) / float64(expected)
	}
	if g.LastAt > 0 {
		if span := time.Unix(0, g.LastAt).Sub(firstSend).Seconds(); span > 0 {
			r.DeliveriesPerS = float64(g.Deliveries) / span
		}
	}
	r.Latency = g.Hist.Summary()
	if r.Deliveries > 0 && r.CPU.ServerCPUSeconds > 0 {
		r.ServerCPUPerDeliver = r.CPU.ServerCPUSeconds * 1e6 / float64(r.Deliveries)
	}
}

// WriteJSON writes r as one line.
func (r *Result) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteTable writes r for a person: only the figures the scenario measured.
func (r *Result) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t"+format+"\n", append([]any{k}, args...)...)
	}
	fmt.Fprintf(tw, "%s on %s (%s)  %s\n", r.Scenario, r.Target, r.Protocol, formatParams(r.Params))
	row("connections", "%d (failed %d)", r.Connections, r.ConnectFailed)
	if r.ConnectPerSec > 0 {
		row("connect rate", "%.0f /s", r.ConnectPerSec)
	}
	if r.RSSPerConn != 0 {
		row("server RSS", "%.1f MiB → %.1f MiB, %.2f KiB per connection",
			mib(r.ServerRSSStart), mib(r.ServerRSSEnd), r.RSSPerConn/1024)
	}
	switch {
	case r.Scenario == "presence":
		row("churn operations", "%d (leave + rejoin), %d failed", r.Publishes, r.PublishFailed)
	case r.Publishes > 0 || r.PublishFailed > 0:
		row("publishes", "%d ok, %d failed, %.0f /s achieved", r.Publishes, r.PublishFailed, r.PublishPerSec)
	}
	if r.Expected > 0 || r.Deliveries > 0 {
		row("deliveries", "%d of %d expected (ratio %.4f), %.0f /s", r.Deliveries, r.Expected, r.DeliveryRatio, r.DeliveriesPerS)
		row("duplicates/gaps/reordered", "%d / %d / %d", r.Duplicates, r.Gaps, r.OutOfOrder)
	}
	if r.Dropped > 0 {
		row("dropped by server", "%d connections (first: %s)", r.Dropped, r.DropReason)
	}
	if r.Latency.Count > 0 {
		l := r.Latency
		row("latency ms", "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f", l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	if r.PublishLatency.Count > 0 {
		l := r.PublishLatency
		row("publish HTTP ms", "p50 %.2f  p99 %.2f  max %.2f", l.P50, l.P99, l.Max)
	}
	if r.MemberExpected > 0 {
		row("member events", "%d of %d expected", r.MemberEvents, r.MemberExpected)
	}
	c := r.CPU
	if c.ServerCPUSeconds > 0 {
		row("server CPU", "%.2f s (%.0f%% of a core)", c.ServerCPUSeconds, c.ServerCPUPercent)
	}
	if r.ServerCPUPerDeliver > 0 {
		row("server CPU per delivery", "%.2f µs", r.ServerCPUPerDeliver)
	}
	row("generator CPU", "%.2f s (%.0f%% of a core)%s", c.GenCPUSeconds, c.GenCPUPercent, saturatedNote(c.GenCPUPercent))
	row("wall", "%.2f s (load average %s)", c.WallSeconds, r.LoadAvg)
	for _, e := range r.Errors {
		row("error", "%s", e)
	}
	_ = tw.Flush()
}

func saturatedNote(pct float64) string {
	if pct > 90 {
		return "  ← generator near one full core: figures may be generator-bound"
	}
	return ""
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func formatParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
	}
	return strings.Join(parts, " ")
}
