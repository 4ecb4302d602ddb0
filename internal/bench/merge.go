package bench

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// MergeIdle combines idle results that ran at the same time against the
// nodes of one cluster (one generator per node, each reading its own
// node's RSS) into one result for the cluster, labelled name: connections,
// failures, drops, connect rates, CPU and RSS are summed, and RSS per
// connection is the cluster's growth over all its connections. Results
// with different settings (subscribed or not, protocol) are refused.
func MergeIdle(name string, parts []Result) (Result, error) {
	if len(parts) == 0 {
		return Result{}, errors.New("merge: no results")
	}
	first := parts[0]
	out := Result{Time: first.Time, Scenario: first.Scenario, Target: name, Protocol: first.Protocol,
		Params: maps.Clone(first.Params)}
	if out.Params == nil {
		out.Params = map[string]any{}
	}
	var reasons []string
	for _, r := range parts {
		if r.Scenario != "idle" {
			return Result{}, fmt.Errorf("merge: %s result from %s; only idle results can be merged", r.Scenario, r.Target)
		}
		if r.ServerRSSEnd == 0 {
			return Result{}, fmt.Errorf("merge: result from %s has no server RSS (run it with -server-pid)", r.Target)
		}
		if r.Protocol != first.Protocol || r.Params["subscribe"] != first.Params["subscribe"] {
			return Result{}, fmt.Errorf("merge: %s and %s ran with different settings (protocol, subscribe)", first.Target, r.Target)
		}
		out.Connections += r.Connections
		out.ConnectFailed += r.ConnectFailed
		out.ConnectPerSec += r.ConnectPerSec
		out.Dropped += r.Dropped
		if r.DropReason != "" {
			reasons = append(reasons, r.Target+": "+r.DropReason)
		}
		out.ServerRSSStart += r.ServerRSSStart
		out.ServerRSSEnd += r.ServerRSSEnd
		out.CPU.WallSeconds = max(out.CPU.WallSeconds, r.CPU.WallSeconds)
		out.CPU.ServerCPUSeconds += r.CPU.ServerCPUSeconds
		out.CPU.ServerCPUPercent += r.CPU.ServerCPUPercent
		out.CPU.GenCPUSeconds += r.CPU.GenCPUSeconds
		out.CPU.GenCPUPercent += r.CPU.GenCPUPercent
		out.CPU.ServerRSSBytes += r.CPU.ServerRSSBytes
		out.LoadAvg = r.LoadAvg
		for _, e := range r.Errors {
			out.addErr("%s: %s", r.Target, e)
		}
	}
	out.DropReason = strings.Join(reasons, "; ")
	if out.Connections > 0 {
		out.RSSPerConn = float64(out.ServerRSSEnd-out.ServerRSSStart) / float64(out.Connections)
	}
	out.Params["conns"] = float64(out.Connections)
	out.Params["nodes"] = float64(len(parts))
	return out, nil
}
