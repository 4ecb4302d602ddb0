package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/parleyhq/parley/internal/bench"
)

// resultsMain implements "report" (medians per target and Parley ÷ peer
// ratios), "plot" (an SVG) and "merge" (idle results of a cluster's nodes,
// measured at once, as one result) over result files of JSON lines.
func resultsMain(cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley-bench "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write to this file instead of stdout")
	markdown := fs.Bool("markdown", false, "report: a Markdown table")
	name := fs.String("name", "parley-cluster", "merge: the label of the merged result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%s: name one or more result files (JSON lines)", cmd)
	}
	var results []bench.Result
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		rs, err := bench.ReadResults(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		results = append(results, rs...)
	}
	var buf bytes.Buffer
	switch cmd {
	case "merge":
		r, err := bench.MergeIdle(*name, results)
		if err != nil {
			return err
		}
		if err := r.WriteJSON(&buf); err != nil {
			return err
		}
	case "plot":
		if err := bench.WritePlot(&buf, results); err != nil {
			return err
		}
	default:
		bench.WriteReport(&buf, results, *markdown)
	}
	if *out != "" {
		return os.WriteFile(*out, buf.Bytes(), 0o644)
	}
	_, err := stdout.Write(buf.Bytes())
	return err
}
