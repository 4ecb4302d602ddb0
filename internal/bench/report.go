package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// ReadResults reads Result JSON lines; lines that are not results (blank,
// or a line another tool wrote) are skipped.
func ReadResults(r io.Reader) ([]Result, error) {
	var out []Result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil || res.Scenario == "" {
			continue
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

// figure is one number a scenario reports, and which direction is better.
type figure struct {
	name   string
	higher bool // higher is better
	get    func(*Result) float64
}

var figures = map[string][]figure{
	"idle": {
		{"server RSS per conn (KiB)", false, func(r *Result) float64 { return r.RSSPerConn / 1024 }},
		{"connects/s", true, func(r *Result) float64 { return r.ConnectPerSec }},
	},
	"fanout": {
		{"deliveries/s", true, func(r *Result) float64 { return r.DeliveriesPerS }},
		{"p50 ms", false, func(r *Result) float64 { return r.Latency.P50 }},
		{"p99 ms", false, func(r *Result) float64 { return r.Latency.P99 }},
		{"p99.9 ms", false, func(r *Result) float64 { return r.Latency.P999 }},
		{"server CPU µs/delivery", false, func(r *Result) float64 { return r.ServerCPUPerDeliver }},
		{"delivery ratio", true, func(r *Result) float64 { return r.DeliveryRatio }},
	},
	"threads": {
		{"deliveries/s", true, func(r *Result) float64 { return r.DeliveriesPerS }},
		{"p50 ms", false, func(r *Result) float64 { return r.Latency.P50 }},
		{"p99 ms", false, func(r *Result) float64 { return r.Latency.P99 }},
		{"server CPU µs/delivery", false, func(r *Result) float64 { return r.ServerCPUPerDeliver }},
		{"delivery ratio", true, func(r *Result) float64 { return r.DeliveryRatio }},
	},
	"presence": {
		{"member events seen/expected", true, func(r *Result) float64 {
			if r.MemberExpected == 0 {
				return math.NaN()
			}
			return float64(r.MemberEvents) / float64(r.MemberExpected)
		}},
		{"member event p99 ms", false, func(r *Result) float64 { return r.Latency.P99 }},
	},
	"messenger": {
		{"sends/s", true, func(r *Result) float64 { return r.PublishPerSec }},
		{"p50 ms", false, func(r *Result) float64 { return r.Latency.P50 }},
		{"p99 ms", false, func(r *Result) float64 { return r.Latency.P99 }},
	},
}

// configKey names a scenario with its parameters, so only like runs are
// compared.
func configKey(r *Result) string {
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		if k == "procs" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := []string{r.Scenario}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, r.Params[k]))
	}
	return strings.Join(parts, " ")
}

func median(v []float64) float64 {
	var s []float64
	for _, x := range v {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return math.NaN()
	}
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// WriteReport prints, for every scenario configuration, each figure's
// median per target over the repeats (with the range), and the ratio of
// Parley to each peer. markdown switches to a Markdown table.
func WriteReport(w io.Writer, results []Result, markdown bool) {
	byCfg := map[string]map[string][]*Result{}
	var cfgs []string
	targetSet := map[string]bool{}
	for i := range results {
		r := &results[i]
		k := configKey(r)
		if byCfg[k] == nil {
			byCfg[k] = map[string][]*Result{}
			cfgs = append(cfgs, k)
		}
		byCfg[k][r.Target] = append(byCfg[k][r.Target], r)
		targetSet[r.Target] = true
	}
	targets := orderTargets(targetSet)
	var peers []string
	for _, t := range targets {
		if t != "parley" {
			peers = append(peers, t)
		}
	}
	header := []string{"scenario", "figure"}
	for _, t := range targets {
		header = append(header, t)
	}
	if targetSet["parley"] {
		for _, p := range peers {
			header = append(header, "parley÷"+p)
		}
	}
	var rows [][]string
	for _, k := range cfgs {
		runs := byCfg[k]
		var sc string
		for _, rs := range runs {
			sc = rs[0].Scenario
			break
		}
		for _, f := range figures[sc] {
			row := []string{k, f.name}
			med := map[string]float64{}
			for _, t := range targets {
				var vals []float64
				for _, r := range runs[t] {
					vals = append(vals, f.get(r))
				}
				med[t] = median(vals)
				row = append(row, formatRange(vals))
			}
			if targetSet["parley"] {
				for _, p := range peers {
					row = append(row, formatRatio(med["parley"], med[p], f.higher))
				}
			}
			rows = append(rows, row)
		}
	}
	writeRows(w, header, rows, markdown)
}

// orderTargets puts parley first, then the peers alphabetically.
func orderTargets(set map[string]bool) []string {
	var out []string
	for t := range set {
		if t != "parley" {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	if set["parley"] {
		out = append([]string{"parley"}, out...)
	}
	return out
}

func formatNum(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 10000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// formatRange is the median and, over several runs, the min–max range.
func formatRange(vals []float64) string {
	m := median(vals)
	if math.IsNaN(m) {
		return "–"
	}
	if len(vals) < 2 {
		return formatNum(m)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return fmt.Sprintf("%s (%s–%s)", formatNum(m), formatNum(lo), formatNum(hi))
}

// formatRatio is parley ÷ peer with a mark saying who is better.
func formatRatio(parley, peer float64, higher bool) string {
	if math.IsNaN(parley) || math.IsNaN(peer) || peer == 0 {
		return "–"
	}
	ratio := parley / peer
	better := (higher && ratio > 1.02) || (!higher && ratio < 0.98)
	worse := (higher && ratio < 0.98) || (!higher && ratio > 1.02)
	mark := ""
	if better {
		mark = " ✓"
	} else if worse {
		mark = " ✗"
	}
	return fmt.Sprintf("%.2f×%s", ratio, mark)
}

func writeRows(w io.Writer, header []string, rows [][]string, markdown bool) {
	if markdown {
		fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
		fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(header)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return
	}
	widths := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c)))
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(c))+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	line(header)
	prev := ""
	for _, r := range rows {
		if r[0] == prev {
			r = append([]string{""}, r[1:]...)
		} else {
			prev = r[0]
		}
		line(r)
	}
}
