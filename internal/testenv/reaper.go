package testenv

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// reaper is a shell process that kills the process groups it is told about
// when its standard input reaches end of file, which happens when the test
// binary exits for any reason, including a panic or SIGKILL. On a clean stop
// the reaper itself is killed first, so it never signals a reused pid.
type reaper struct {
	cmd *exec.Cmd
	in  io.WriteCloser
}

const reaperScript = `pids=""
while read -r p; do pids="$pids $p"; done
for p in $pids; do kill -KILL -- "-$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done`

func startReaper() (*reaper, error) {
	cmd := exec.Command("/bin/sh", "-c", reaperScript)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the process reaper: %w", err)
	}
	return &reaper{cmd: cmd, in: in}, nil
}

// watch asks the reaper to kill pid (and its process group) if we die.
func (r *reaper) watch(pids ...int) {
	for _, pid := range pids {
		if pid != r.cmd.Process.Pid {
			fmt.Fprintln(r.in, pid)
		}
	}
}

// stop ends the reaper without letting it kill anything.
func (r *reaper) stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	_ = r.in.Close()
}

// childPIDs lists the processes whose parent is this process.
func childPIDs() []int {
	self := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state ppid ...
		s := string(raw)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == self {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			pids = append(pids, pid)
		}
	}
	return pids
}
