package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcSample is one reading of a process's memory and CPU.
type ProcSample struct {
	RSSBytes int64
	CPU      time.Duration // user + system
}

// SampleProc reads VmRSS from /proc/<pid>/status and utime+stime from
// /proc/<pid>/stat.
func SampleProc(pid int) (ProcSample, error) {
	var s ProcSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				s.RSSBytes = kb * 1024
			}
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name in parentheses may contain spaces: fields count
	// from after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.CPU = time.Duration(ut+st) * time.Second / clockTicks
	return s, nil
}

// selfCPU is the CPU this process has used so far (getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverMeter samples the server process (when its pid is known) and the
// generator's own CPU at the start and end of a measured interval.
type serverMeter struct {
	pid       int
	start     ProcSample
	startSelf time.Duration
	startWall time.Time
	err       error
}

func startMeter(pid int) *serverMeter {
	m := &serverMeter{pid: pid, startWall: time.Now(), startSelf: selfCPU()}
	if pid > 0 {
		m.start, m.err = SampleProc(pid)
	}
	return m
}

// CPUReport is CPU use over a measured interval.
type CPUReport struct {
	WallSeconds      float64 `json:"wall_s"`
	ServerCPUSeconds float64 `json:"server_cpu_s,omitempty"`
	ServerCPUPercent float64 `json:"server_cpu_pct,omitempty"` // 100 = one core
	GenCPUSeconds    float64 `json:"gen_cpu_s"`
	GenCPUPercent    float64 `json:"gen_cpu_pct"`
	ServerRSSBytes   int64   `json:"server_rss_bytes,omitempty"`
}

// stop ends the interval; workerCPU is what worker processes used in it.
func (m *serverMeter) stop(workerCPU time.Duration) CPUReport {
	wall := time.Since(m.startWall).Seconds()
	r := CPUReport{WallSeconds: wall}
	gen := (selfCPU() - m.startSelf + workerCPU).Seconds()
	r.GenCPUSeconds = gen
	if wall > 0 {
		r.GenCPUPercent = 100 * gen / wall
	}
	if m.pid > 0 && m.err == nil {
		if end, err := SampleProc(m.pid); err == nil {
			cpu := (end.CPU - m.start.CPU).Seconds()
			r.ServerCPUSeconds = cpu
			if wall > 0 {
				r.ServerCPUPercent = 100 * cpu / wall
			}
			r.ServerRSSBytes = end.RSSBytes
		}
	}
	return r
}
