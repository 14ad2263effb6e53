package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxd-go/lxd/lxc/config"
	"github.com/lxd-go/lxd/shared/api"
)

// runCommand runs one invocation of the instance commands (start, stop, delete, list, exec, monitor...) with a
// configuration whose local remote is the unix socket sock ("" for one nothing listens on), and returns what it
// printed on stdout and stderr together.
func runCommand(t *testing.T, sock string, args ...string) (string, error) {
	t.Helper()
	return runCommandIn(t, sock, "", args...)
}

// runCommandIn is runCommand with stdin.
func runCommandIn(t *testing.T, sock string, stdin string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if sock == "" {
		sock = filepath.Join(dir, "nothing.socket")
	}

	yml := "default-remote: local\nremotes:\n  local:\n    addr: unix://" + sock + "\n    public: false\n"
	err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(yml), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	conf, err := config.Load(dir)
	if err != nil {
		t.Fatal(err)
	}

	global := &cmdGlobal{conf: conf}
	root := &cobra.Command{Use: "lxc", SilenceUsage: true, SilenceErrors: true}
	for _, action := range []string{"start", "stop", "restart", "freeze", "unfreeze"} {
		root.AddCommand((&cmdAction{global: global, action: action}).command())
	}

	root.AddCommand((&cmdDelete{global: global}).command())
	root.AddCommand((&cmdList{global: global}).command())
	root.AddCommand((&cmdMonitor{global: global}).command())
	root.AddCommand((&cmdExec{global: global}).command())
	root.AddCommand((&cmdInit{global: global}).command())
	root.AddCommand((&cmdLaunch{init: cmdInit{global: global}}).command())
	root.PersistentFlags().BoolVarP(&global.flagQuiet, "quiet", "q", false, "")

	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), err
}

// fakeInstances answers the instance endpoints the action, delete and init commands use, on a unix socket. State
// changes answer with operations that are already final, so the client needs no events connection.
type fakeInstances struct {
	mu       sync.Mutex
	insts    map[string]*api.Instance
	snaps    map[string]bool
	requests []string
	bodies   map[string]string
}

// newFakeInstances starts the server with instances named by status ("c1": api.Running) and returns its socket.
func newFakeInstances(t *testing.T, statuses map[string]api.StatusCode) (*fakeInstances, string) {
	t.Helper()
	f := &fakeInstances{insts: map[string]*api.Instance{}, snaps: map[string]bool{}, bodies: map[string]string{}}
	for name, status := range statuses {
		f.insts[name] = &api.Instance{Name: name, Type: "container", Status: status.String(), StatusCode: status}
	}

	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}

	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f, sock
}

// log returns the requests that change something ("PUT /1.0/instances/c1/state start").
func (f *fakeInstances) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// finalOp answers 202 with an operation that has already ended, failed when errMsg is set.
func finalOp(w http.ResponseWriter, errMsg string) {
	op := api.Operation{ID: "op1", Class: "task", Status: "Success", StatusCode: api.Success}
	if errMsg != "" {
		op.Status, op.StatusCode, op.Err = "Failure", api.Failure, errMsg
	}

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/1.0/operations/op1")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "async", "status": "Operation created", "status_code": 100,
		"operation": "/1.0/operations/op1", "metadata": op})
}

func (f *fakeInstances) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	p := r.URL.Path
	if p == "/1.0" {
		fakeReply(w, 200, map[string]any{"auth": "trusted", "api_version": "1.0", "api_extensions": []string{}})
		return
	}

	if p == "/1.0/instances" && r.Method == http.MethodGet {
		list := []api.Instance{}
		for _, inst := range f.insts {
			list = append(list, *inst)
		}

		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		fakeReply(w, 200, list)
		return
	}

	if p == "/1.0/instances" && r.Method == http.MethodPost {
		var req api.InstancesPost
		_ = json.Unmarshal(body, &req)
		f.requests = append(f.requests, "POST /1.0/instances "+req.Name)
		f.bodies["POST /1.0/instances"] = string(body)
		f.insts[req.Name] = &api.Instance{Name: req.Name, Status: "Stopped", StatusCode: api.Stopped}
		finalOp(w, "")
		return
	}

	rest, _ := strings.CutPrefix(p, "/1.0/instances/")
	name, sub, _ := strings.Cut(rest, "/")
	inst, ok := f.insts[name]
	if !ok {
		fakeFail(w, 404, fmt.Sprintf("instance %q not found", name))
		return
	}

	switch {
	case sub == "" && r.Method == http.MethodGet:
		fakeReply(w, 200, inst)
	case sub == "" && r.Method == http.MethodDelete:
		f.requests = append(f.requests, "DELETE "+name)
		delete(f.insts, name)
		finalOp(w, "")
	case strings.HasPrefix(sub, "snapshots/"):
		snap := name + "/" + strings.TrimPrefix(sub, "snapshots/")
		if !f.snaps[snap] {
			fakeFail(w, 404, fmt.Sprintf("snapshot %q not found", snap))
			return
		}

		if r.Method == http.MethodDelete {
			f.requests = append(f.requests, "DELETE "+snap)
			delete(f.snaps, snap)
			finalOp(w, "")
			return
		}

		fakeReply(w, 200, api.InstanceSnapshot{Name: snap})
	case sub == "state" && r.Method == http.MethodPut:
		var req api.InstanceStatePut
		_ = json.Unmarshal(body, &req)
		f.requests = append(f.requests, "PUT "+name+" "+req.Action)
		f.changeState(w, inst, req.Action)
	default:
		fakeFail(w, 404, "not found")
	}
}

// changeState applies a state action as the daemon does: refused requests answer an error, a freeze of an instance
// that does not run fails in its operation.
func (f *fakeInstances) changeState(w http.ResponseWriter, inst *api.Instance, action string) {
	set := func(s api.StatusCode) { inst.StatusCode, inst.Status = s, s.String() }
	switch {
	case action == "start" && inst.StatusCode == api.Running:
		fakeFail(w, 400, "the instance is already running")
		return
	case (action == "stop" || action == "restart") && inst.StatusCode == api.Stopped:
		fakeFail(w, 400, "the instance is already stopped")
		return
	case action == "freeze" && inst.StatusCode != api.Running:
		finalOp(w, "the instance is not running")
		return
	case action == "stop":
		if inst.Ephemeral {
			delete(f.insts, inst.Name)
		}

		set(api.Stopped)
	case action == "freeze":
		set(api.Frozen)
	default:
		set(api.Running)
	}

	finalOp(w, "")
}

func TestActionAll(t *testing.T) {
	f, sock := newFakeInstances(t, map[string]api.StatusCode{"c1": api.Running, "c2": api.Stopped, "c3": api.Frozen})

	// start skips running instances only, and resumes frozen ones as the stock client does; stop skips stopped ones
	// only; restart takes every one.
	steps := []struct {
		args []string
		want []string
	}{
		{[]string{"start", "--all"}, []string{"PUT c2 start", "PUT c3 unfreeze"}},
		{[]string{"start", "--all", "local:"}, nil},
		{[]string{"freeze", "c3"}, []string{"PUT c3 freeze"}},
		{[]string{"stop", "--all", "--force"}, []string{"PUT c1 stop", "PUT c2 stop", "PUT c3 stop"}},
		{[]string{"stop", "--all"}, nil},
	}

	for _, st := range steps {
		before := len(f.log())
		out, err := runCommand(t, sock, st.args...)
		if err != nil {
			t.Fatalf("lxc %v: %v\n%s", st.args, err, out)
		}

		got := f.log()[before:]
		if strings.Join(got, ",") != strings.Join(st.want, ",") {
			t.Fatalf("lxc %v: got requests %v, want %v", st.args, got, st.want)
		}
	}
}

func TestActionErrors(t *testing.T) {
	f, sock := newFakeInstances(t, map[string]api.StatusCode{"c1": api.Running, "c2": api.Stopped})
	tests := []struct {
		args    []string
		wantErr string
		wantOut string
	}{
		{[]string{"start", "--all", "c1"}, "both --all and instance name given", ""},
		{[]string{"stop", "--all", "local:c1"}, "both --all and instance name given", ""},
		{[]string{"start", "local:"}, `must supply instance name for: "local:"`, ""},
		{[]string{"restart", "c2"}, "the instance is already stopped", ""},
		{[]string{"restart", "c2", "nope"}, "some instances failed to restart",
			"c2: error: the instance is already stopped\nnope: error: instance \"nope\" not found\n\n"},
		{[]string{"restart", "--all"}, "some instances failed to restart",
			"local:c2: error: the instance is already stopped\n\n"},
		{[]string{"pause", "c2"}, "the instance is not running\nTry `lxc info --show-log c2` for more info", ""},
	}

	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := runCommand(t, sock, tt.args...)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}

			if out != tt.wantOut {
				t.Fatalf("got output %q, want %q", out, tt.wantOut)
			}
		})
	}

	if f.insts["c1"].StatusCode != api.Running || f.insts["c2"].StatusCode != api.Stopped {
		t.Fatalf("states changed: c1 %s, c2 %s", f.insts["c1"].Status, f.insts["c2"].Status)
	}

	// No argument prints the help and succeeds, as the stock client does.
	out, err := runCommand(t, sock, "start")
	if err != nil || !strings.Contains(out, "Run against all instances") {
		t.Fatalf("got %v, %q", err, out)
	}
}

func TestDeleteInteractive(t *testing.T) {
	tests := []struct {
		stdin   string
		args    []string
		wantErr string
		wantOut string
		deleted []string
	}{
		{"no\n", []string{"c1"}, "user aborted delete operation", "Remove c1 (yes/no): ", nil},
		{"\n", []string{"c1"}, "user aborted delete operation", "Remove c1 (yes/no): ", nil},
		{"", []string{"c1"}, "user aborted delete operation", "Remove c1 (yes/no): ", nil},
		{"y\n", []string{"c1"}, "user aborted delete operation", "Remove c1 (yes/no): ", nil},
		{" yes\n", []string{"c1"}, "user aborted delete operation", "Remove c1 (yes/no): ", nil},
		{"YES\n", []string{"c1"}, "", "Remove c1 (yes/no): ", []string{"DELETE c1"}},
		{"yes", []string{"c1/s1"}, "", "Remove c1/s1 (yes/no): ", []string{"DELETE c1/s1"}},
		{"yes\nno\n", []string{"c1", "c2"}, "user aborted delete operation",
			"Remove c1 (yes/no): Remove c2 (yes/no): ", []string{"DELETE c1"}},
		{"yes\n", []string{"c1", "nope"}, `failed checking instance exists "local:nope": instance "nope" not found`,
			"", nil},
		{"yes\n", []string{"c1/nope"},
			`failed checking instance snapshot exists "local:c1/nope": snapshot "c1/nope" not found`, "", nil},
		{"yes\n", []string{"run"}, "the instance is currently running, stop it first or pass --force",
			"Remove run (yes/no): ", nil},
	}

	for _, tt := range tests {
		t.Run(tt.stdin+strings.Join(tt.args, " "), func(t *testing.T) {
			f, sock := newFakeInstances(t, map[string]api.StatusCode{"c1": api.Stopped, "c2": api.Stopped,
				"run": api.Running})
			f.snaps["c1/s1"] = true
			out, err := runCommandIn(t, sock, tt.stdin, append([]string{"delete", "-i"}, tt.args...)...)
			if (err == nil && tt.wantErr != "") || (err != nil && err.Error() != tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}

			if out != tt.wantOut {
				t.Fatalf("got output %q, want %q", out, tt.wantOut)
			}

			if strings.Join(f.log(), ",") != strings.Join(tt.deleted, ",") {
				t.Fatalf("got requests %v, want %v", f.log(), tt.deleted)
			}
		})
	}
}

func TestDeleteForceEphemeral(t *testing.T) {
	f, sock := newFakeInstances(t, map[string]api.StatusCode{"e1": api.Running, "c1": api.Running})
	f.insts["e1"].Ephemeral = true
	out, err := runCommand(t, sock, "delete", "-f", "e1", "c1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	want := "PUT e1 stop,PUT c1 stop,DELETE c1"
	if strings.Join(f.log(), ",") != want {
		t.Fatalf("got requests %v, want %s", f.log(), want)
	}
}

func TestInitEphemeral(t *testing.T) {
	for _, args := range [][]string{{"init", "bb", "e1", "-e"}, {"launch", "bb", "e1", "--ephemeral"},
		{"init", "bb", "c1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			f, sock := newFakeInstances(t, nil)
			out, err := runCommand(t, sock, args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}

			var req map[string]any
			err = json.Unmarshal([]byte(f.bodies["POST /1.0/instances"]), &req)
			if err != nil {
				t.Fatal(err)
			}

			want := len(args) == 4
			if req["ephemeral"] != want {
				t.Fatalf("got ephemeral %v in %s, want %v", req["ephemeral"], f.bodies["POST /1.0/instances"], want)
			}

			if args[0] == "launch" && f.log()[len(f.log())-1] != "PUT e1 start" {
				t.Fatalf("got requests %v, want a start last", f.log())
			}
		})
	}
}

func TestExecEnvironment(t *testing.T) {
	tests := []struct {
		term    string
		hasTerm bool
		pairs   []string
		want    map[string]string
	}{
		{"xterm", true, nil, map[string]string{"TERM": "xterm"}},
		{"", true, nil, map[string]string{"TERM": ""}},
		{"", false, []string{"FOO=bar"}, map[string]string{"FOO": "bar"}},
		{"", false, []string{"FOO"}, map[string]string{"FOO": ""}},
		{"", false, []string{"A=b=c", "A=d"}, map[string]string{"A": "d"}},
		{"vt100", true, []string{"TERM=dumb"}, map[string]string{"TERM": "dumb"}},
	}

	for _, tt := range tests {
		got := execEnvironment(tt.term, tt.hasTerm, tt.pairs)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("execEnvironment(%q, %v, %v): got %v, want %v", tt.term, tt.hasTerm, tt.pairs, got, tt.want)
		}
	}
}
