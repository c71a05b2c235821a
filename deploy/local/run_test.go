package local

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run `make run` exactly as a newcomer does (piped through tee,
// in a terminal or not), on the "check" stack: ports of its own, so a
// `make run` of yours and `make test`'s stack are left alone. They need
// what `make test` installs (Postgres, MariaDB, bin/temporal) and fail,
// not skip, without it.

const (
	httpAddr     = "127.0.0.1:38080"
	emulatorAddr = "127.0.0.1:38090"
	banner       = "Ctrl-C stops the service"
)

// The stack's ports: the service, the emulator, Postgres, MariaDB,
// Temporal's gRPC and UI (deploy/local/stack.sh, stack "check").
var stackPorts = []string{httpAddr, emulatorAddr, "127.0.0.1:35432", "127.0.0.1:33306", "127.0.0.1:37233", "127.0.0.1:38233"}

func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run is one `make run 2>&1 | tee LOG`, started by bash in a process group
// of its own (as a terminal's shell would start a pipeline).
type run struct {
	t    *testing.T
	cmd  *exec.Cmd
	log  string // what tee wrote
	done chan struct{}
	err  error
	// pty is the terminal's input when the run has one (script(1)).
	pty io.WriteCloser
}

// pipeline is what the newcomer types.
const pipeline = "make run 2>&1 | tee %q; echo \"pipeline status: ${PIPESTATUS[*]}\""

func startRun(t *testing.T, terminal bool) *run {
	t.Helper()
	dir := root(t)
	r := &run{t: t, log: filepath.Join(t.TempDir(), "run.log"), done: make(chan struct{})}
	line := fmt.Sprintf(pipeline, r.log)
	if terminal {
		// script(1) gives the pipeline a real terminal: writing ^C to it
		// is a Ctrl-C, delivered by the terminal to its foreground group.
		r.cmd = exec.Command("script", "-qfec", line, "/dev/null")
	} else {
		r.cmd = exec.Command("bash", "-c", line)
	}
	r.cmd.Dir = dir
	r.cmd.Env = append(runEnv(t), "SHELL=/bin/bash") // script(1) runs the line with $SHELL
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	if terminal {
		w, err := r.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		r.pty = w
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start make run: %v", err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
		stackDown(t) // whatever a failed test left running
		if t.Failed() {
			t.Logf("make run output:\n%s", tail(out.String(), 4000))
		}
	})
	return r
}

// runEnv is the environment of a newcomer's shell: no settings of the
// service (those of `make test` would point it at the test stack).
func runEnv(t *testing.T) []string {
	t.Helper()
	env := []string{"RUN_STACK=check", "HTTP_ADDR=" + httpAddr, "EMULATOR_ADDR=" + emulatorAddr, "TERM=dumb"}
	for _, k := range []string{"PATH", "HOME", "USER", "LANG", "TMPDIR", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "TEMPORAL_CLI"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// waitBanner waits for make run to say it is ready.
func (r *run) waitBanner() {
	r.t.Helper()
	deadline := time.Now().Add(4 * time.Minute) // a cold machine builds the binary first
	for time.Now().Before(deadline) {
		if strings.Contains(r.logText(), banner) {
			return
		}
		select {
		case <-r.done:
			r.t.Fatalf("make run ended before it was ready (%v):\n%s", r.err, tail(r.logText(), 4000))
		case <-time.After(500 * time.Millisecond):
		}
	}
	r.t.Fatalf("make run was not ready within 4 min:\n%s", tail(r.logText(), 4000))
}

func (r *run) logText() string {
	b, _ := os.ReadFile(r.log)
	return string(b)
}

// wait waits for the pipeline to end and returns bash's or script's exit
// status.
func (r *run) wait() int {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(2 * time.Minute):
		r.t.Fatalf("make run did not stop within 2 min:\n%s", tail(r.logText(), 4000))
	}
	if r.err == nil {
		return 0
	}
	if ee, ok := r.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	r.t.Fatalf("wait: %v", r.err)
	return -1
}

// stackPIDs reads the pid of every process of the check stack from its pid
// files: the service, the emulator, Temporal, MariaDB and Postgres.
func stackPIDs(t *testing.T) map[string]int {
	t.Helper()
	base := filepath.Join(root(t), ".dev", "check")
	files := map[string]string{
		"service":  "service.pid",
		"emulator": "emulator.pid",
		"temporal": "temporal/temporal.pid",
		"mariadb":  "mariadb/mariadb.pid",
		"postgres": "postgres/data/postmaster.pid",
	}
	pids := map[string]int{}
	for name, f := range files {
		b, err := os.ReadFile(filepath.Join(base, f))
		if err != nil {
			t.Fatalf("%s: no pid file while make run is up: %v", name, err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		pid, err := strconv.Atoi(strings.TrimSpace(first))
		if err != nil {
			t.Fatalf("%s: pid file %s: %v", name, f, err)
		}
		if !alive(pid) {
			t.Fatalf("%s (pid %d) is not running while make run is up", name, pid)
		}
		pids[name] = pid
	}
	return pids
}

// alive: the process exists and is not a zombie (PID 1 here may reap late).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndex(s, ") "); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// assertNothingLeft fails the test for each process of the stack still
// running, and each of its ports still answering.
func assertNothingLeft(t *testing.T, pids map[string]int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a stop is waited for; allow the reaper a moment
	for name, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("%s (pid %d) is still running", name, pid)
		}
	}
	for _, addr := range stackPorts {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections", addr)
		}
	}
}

// stackDown is what `make stack-down` runs for each stack, for the check
// stack only: make stack-down itself would also stop the test stack that
// the other packages' tests are using right now.
func stackDown(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("bash", "deploy/local/stack.sh", "down", "check")
	cmd.Dir = root(t)
	cmd.Env = runEnv(t)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("stack.sh down check: %v\n%s", err, out)
	}
	return string(out)
}

// TestCtrlCInATerminalStopsEverythingAndExitsZero is the case: in a
// terminal, `make run 2>&1 | tee run.log`, then Ctrl-C. Everything stops,
// the log gets the whole shutdown (tee is not killed), and make, tee and
// the pipeline exit 0.
func TestCtrlCInATerminalStopsEverythingAndExitsZero(t *testing.T) {
	r := startRun(t, true)
	r.waitBanner()
	pids := stackPIDs(t)
	if _, err := r.pty.Write([]byte{0x03}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		t.Errorf("exit status %d after Ctrl-C, want 0", code)
	}
	assertNothingLeft(t, pids)
	log := r.logText()
	for _, want := range []string{"SIGINT: stopping", "intercom-sync service: stopping", "check stack stopped", "pipeline status: 0 0"} {
		if !strings.Contains(log, want) && !strings.Contains(r.outputOf(), want) {
			t.Errorf("the run's output lacks %q:\n%s", want, tail(log, 3000))
		}
	}
	if strings.Contains(log, "Error 130") || strings.Contains(log, "Interrupt") {
		t.Errorf("make reported the stop as a failure:\n%s", tail(log, 2000))
	}
}

// TestSIGINTToThePipelineStopsEverything: no terminal (an IDE, a CI job),
// and SIGINT to the whole pipeline's process group, tee included. tee dies
// at once; the cleanup, whose output then goes nowhere, must still finish.
func TestSIGINTToThePipelineStopsEverything(t *testing.T) {
	r := startRun(t, false)
	r.waitBanner()
	pids := stackPIDs(t)
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	r.wait()
	assertNothingLeft(t, pids)
}

// TestSIGTERMToMakeStopsEverything: SIGTERM to make alone (a process
// manager), with a terminal: make forwards it to its child only.
func TestSIGTERMToMakeStopsEverything(t *testing.T) {
	r := startRun(t, true)
	r.waitBanner()
	pids := stackPIDs(t)
	makePID := findChild(t, r.cmd.Process.Pid, "make")
	if err := syscall.Kill(makePID, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r.wait()
	assertNothingLeft(t, pids)
}

// TestACrashedRunIsCleanedUp: a run killed with SIGKILL (nothing of it can
// clean up) leaves the service, the emulator and the servers running. The
// next make run finds them by their pid files and comes up anyway; after
// it is killed too, the stack's down (make stack-down's step) stops every
// process of the stack.
func TestACrashedRunIsCleanedUp(t *testing.T) {
	first := startRun(t, false)
	first.waitBanner()
	firstPIDs := stackPIDs(t)
	_ = syscall.Kill(-first.cmd.Process.Pid, syscall.SIGKILL)
	first.wait()
	for _, name := range []string{"service", "emulator"} {
		if !alive(firstPIDs[name]) {
			t.Fatalf("SIGKILL of the run took the %s with it; the test shows nothing", name)
		}
	}

	second := startRun(t, false)
	second.waitBanner()
	log := second.logText()
	for _, want := range []string{
		fmt.Sprintf("found service (pid %d) left running by an earlier run; stopping it", firstPIDs["service"]),
		fmt.Sprintf("found emulator (pid %d) left running by an earlier run; stopping it", firstPIDs["emulator"]),
		"temporal: already running",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the second run does not say %q:\n%s", want, tail(log, 3000))
		}
	}
	if alive(firstPIDs["service"]) || alive(firstPIDs["emulator"]) {
		t.Errorf("the first run's service or emulator is still running")
	}
	secondPIDs := stackPIDs(t)
	_ = syscall.Kill(-second.cmd.Process.Pid, syscall.SIGKILL)
	second.wait()

	out := stackDown(t)
	assertNothingLeft(t, secondPIDs)
	for _, want := range []string{"intercom-sync service: stopping", "Intercom emulator: stopping", "check stack stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("stack.sh down check does not say %q:\n%s", want, out)
		}
	}
}

// outputOf is what script(1) or bash printed (the terminal's screen).
func (r *run) outputOf() string {
	if b, ok := r.cmd.Stdout.(*bytes.Buffer); ok {
		return b.String()
	}
	return ""
}

// findChild finds the descendant of pid whose command name is comm.
func findChild(t *testing.T, pid int, comm string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parents := map[int]int{}
	names := map[int]string{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.Index(s, "("), strings.LastIndex(s, ")")
		if open < 0 || closing < 0 {
			continue
		}
		names[p] = s[open+1 : closing]
		fields := strings.Fields(s[closing+1:])
		if len(fields) > 1 {
			parents[p], _ = strconv.Atoi(fields[1])
		}
	}
	for p, name := range names {
		if name != comm {
			continue
		}
		for a := parents[p]; a > 1; a = parents[a] {
			if a == pid {
				return p
			}
		}
	}
	t.Fatalf("no %s under pid %d", comm, pid)
	return 0
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	sc := bufio.NewScanner(strings.NewReader(s[len(s)-n:]))
	sc.Scan() // drop the partial first line
	var b strings.Builder
	for sc.Scan() {
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return b.String()
}
