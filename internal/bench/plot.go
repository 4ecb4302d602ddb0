package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// series is one target's medians over an x parameter.
type series struct {
	target string
	points map[float64]float64
}

// panel is one small chart.
type panel struct {
	title, xLabel string
	series        []series
}

var plotColors = map[string]string{"parley": "#1f6fb4", "soketi": "#e8780c", "centrifugo": "#2a9d3a"}

// WritePlot draws three panels as one SVG: saturated fan-out deliveries/s
// and p99 against subscribers, and idle RSS per connection against
// connections, one line per target (medians over repeats).
func WritePlot(w io.Writer, results []Result) error {
	fanout := func(r *Result) bool {
		return r.Scenario == "fanout" && param(r, "rate") == 0
	}
	idle := func(r *Result) bool {
		return r.Scenario == "idle" && r.Params["subscribe"] == false && r.RSSPerConn != 0
	}
	panels := []panel{
		{"fan-out deliveries/s (unthrottled, 64 B)", "subscribers",
			collect(results, fanout, "subscribers", func(r *Result) float64 { return r.DeliveriesPerS })},
		{"fan-out p99 latency ms (unthrottled)", "subscribers",
			collect(results, fanout, "subscribers", func(r *Result) float64 { return r.Latency.P99 })},
		{"idle server RSS per connection, KiB", "connections",
			collect(results, idle, "conns", func(r *Result) float64 { return r.RSSPerConn / 1024 })},
	}
	const pw, ph = 380, 280
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", pw*len(panels), ph+30)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	for i, p := range panels {
		drawPanel(w, p, float64(i*pw), pw, ph)
	}
	// Legend.
	x := 60.0
	targets := map[string]bool{}
	for _, p := range panels {
		for _, s := range p.series {
			targets[s.target] = true
		}
	}
	for _, t := range orderTargets(targets) {
		fmt.Fprintf(w, `<rect x="%.0f" y="%d" width="12" height="4" fill="%s"/><text x="%.0f" y="%d">%s</text>`+"\n", x, ph+14, color(t), x+16, ph+19, t)
		x += 110
	}
	_, err := fmt.Fprintln(w, "</svg>")
	return err
}

func color(t string) string {
	if c, ok := plotColors[t]; ok {
		return c
	}
	if strings.HasPrefix(t, "parley-") {
		return "#7fb3e0" // a Parley cluster (bench/scaleout)
	}
	return "#777"
}

func param(r *Result, k string) float64 {
	if v, ok := r.Params[k].(float64); ok {
		return v
	}
	return math.NaN()
}

func collect(results []Result, keep func(*Result) bool, xParam string, y func(*Result) float64) []series {
	vals := map[string]map[float64][]float64{}
	for i := range results {
		r := &results[i]
		if !keep(r) {
			continue
		}
		x := param(r, xParam)
		if math.IsNaN(x) {
			continue
		}
		if vals[r.Target] == nil {
			vals[r.Target] = map[float64][]float64{}
		}
		vals[r.Target][x] = append(vals[r.Target][x], y(r))
	}
	set := map[string]bool{}
	for t := range vals {
		set[t] = true
	}
	var out []series
	for _, t := range orderTargets(set) {
		s := series{target: t, points: map[float64]float64{}}
		for x, v := range vals[t] {
			s.points[x] = median(v)
		}
		out = append(out, s)
	}
	return out
}

func drawPanel(w io.Writer, p panel, ox, pw, ph float64) {
	const left, right, top, bottom = 60.0, 15.0, 30.0, 40.0
	plotW, plotH := pw-left-right, ph-top-bottom
	fmt.Fprintf(w, `<text x="%.0f" y="18" font-weight="bold">%s</text>`+"\n", ox+left, escapeXML(p.title))
	xsSet := map[float64]bool{}
	ymax := 0.0
	for _, s := range p.series {
		for x, y := range s.points {
			xsSet[x] = true
			if !math.IsNaN(y) {
				ymax = math.Max(ymax, y)
			}
		}
	}
	var xs []float64
	for x := range xsSet {
		xs = append(xs, x)
	}
	sort.Float64s(xs)
	if len(xs) == 0 || ymax == 0 {
		fmt.Fprintf(w, `<text x="%.0f" y="%.0f" fill="#888">no data</text>`+"\n", ox+left+plotW/3, top+plotH/2)
		return
	}
	ymax = niceCeil(ymax * 1.05)
	xpos := func(i int) float64 {
		if len(xs) == 1 {
			return ox + left + plotW/2
		}
		return ox + left + plotW*float64(i)/float64(len(xs)-1)
	}
	ypos := func(v float64) float64 { return top + plotH*(1-v/ymax) }
	// Axes, grid and labels.
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := ypos(v)
		fmt.Fprintf(w, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", ox+left, y, ox+left+plotW, y)
		fmt.Fprintf(w, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", ox+left-5, y+4, shortNum(v))
	}
	fmt.Fprintf(w, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`+"\n", ox+left, top+plotH, ox+left+plotW, top+plotH)
	for i, x := range xs {
		fmt.Fprintf(w, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", xpos(i), top+plotH+15, shortNum(x))
	}
	fmt.Fprintf(w, `<text x="%.0f" y="%.0f" text-anchor="middle" fill="#555">%s</text>`+"\n", ox+left+plotW/2, top+plotH+32, p.xLabel)
	for _, s := range p.series {
		var pts []string
		for i, x := range xs {
			y, ok := s.points[x]
			if !ok || math.IsNaN(y) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xpos(i), ypos(y)))
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`+"\n",
				xpos(i), ypos(y), color(s.target), s.target, shortNum(x), shortNum(y))
		}
		if len(pts) > 1 {
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color(s.target), strings.Join(pts, " "))
		}
	}
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func shortNum(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 10 || a == 0:
		return fmt.Sprintf("%.0f", v)
	default:
		return trimZero(fmt.Sprintf("%.2f", v))
	}
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func escapeXML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
