package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat. It is
// USER_HZ, which is 100 on x86-64 and arm64 Linux (getconf CLK_TCK prints
// it).
const clockTick = 10 * time.Millisecond

// cpuUse is the CPU time, user and system, that each process of a phase
// spent during it.
type cpuUse struct {
	server, redis, loadgen time.Duration
}

// cpuSnapshot reads the CPU time of the server under test, of redis-server
// when the server uses it, and of the bench itself, which generates the load.
func (env *environment) cpuSnapshot(t target) (cpuUse, error) {
	var use cpuUse
	var err error
	if use.server, err = cpuTime(t.proc.pid()); err != nil {
		return use, err
	}
	if t.replica {
		if use.redis, err = cpuTime(env.redis.pid()); err != nil {
			return use, err
		}
	}
	use.loadgen, err = cpuTime(os.Getpid())
	return use, err
}

func (c cpuUse) since(before cpuUse) cpuUse {
	return cpuUse{server: c.server - before.server, redis: c.redis - before.redis, loadgen: c.loadgen - before.loadgen}
}

// cpuTime returns the user and system CPU time of all threads of a process.
func cpuTime(pid int) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may contain spaces, so fields are
	// counted after it. utime and stime are fields 14 and 15 of the line.
	_, rest, ok := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, fmt.Errorf("unexpected format of /proc/%d/stat: %q", pid, stat)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected format of /proc/%d/stat: %q", pid, stat)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
