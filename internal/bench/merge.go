package bench

import (
	"errors"
	"fmt"
	"maps"
)

// MergeIdle combines idle results that ran at the same time against the
// nodes of one cluster (one generator per node, each reading its own
// node's RSS) into one result for the cluster, labelled name: connections,
// failures, connect rates and RSS are summed, and RSS per connection is the
// cluster's growth over all its connections.
func MergeIdle(name string, parts []Result) (Result, error) {
	if len(parts) == 0 {
		return Result{}, errors.New("merge: no results")
	}
	out := parts[0]
	out.Target = name
	out.Params = maps.Clone(parts[0].Params)
	out.Errors = nil
	out.Connections, out.ConnectFailed, out.ConnectPerSec = 0, 0, 0
	out.ServerRSSStart, out.ServerRSSEnd, out.RSSPerConn = 0, 0, 0
	out.CPU = CPUReport{}
	for _, r := range parts {
		if r.Scenario != "idle" {
			return Result{}, fmt.Errorf("merge: %s result from %s; only idle results can be merged", r.Scenario, r.Target)
		}
		if r.ServerRSSEnd == 0 {
			return Result{}, fmt.Errorf("merge: result from %s has no server RSS (run it with -server-pid)", r.Target)
		}
		out.Connections += r.Connections
		out.ConnectFailed += r.ConnectFailed
		out.ConnectPerSec += r.ConnectPerSec
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
	if out.Connections > 0 {
		out.RSSPerConn = float64(out.ServerRSSEnd-out.ServerRSSStart) / float64(out.Connections)
	}
	out.Params["conns"] = float64(out.Connections)
	out.Params["nodes"] = float64(len(parts))
	return out, nil
}
