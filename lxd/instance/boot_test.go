package instance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxd-go/lxd/lxd/db"
	"github.com/lxd-go/lxd/shared/api"
)

// bootLog records, in order, what the driver, the clock and the event sender were asked to do.
type bootLog struct {
	mu     sync.Mutex
	events []string
}

func (l *bootLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *bootLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// matching returns the recorded events starting with one of prefixes.
func (l *bootLog) matching(prefixes ...string) []string {
	var out []string
	for _, ev := range l.get() {
		for _, p := range prefixes {
			if strings.HasPrefix(ev, p) {
				out = append(out, ev)
				break
			}
		}
	}

	return out
}

func (l *bootLog) SendLifecycle(project string, ev api.EventLifecycle) {
	l.add("event %s %s", ev.Action, strings.TrimPrefix(ev.Source, "/1.0/instances/"))
}

// bootDriver is a fakeDriver that records starts and stops, fails the starts it is told to, and has instances
// whose init ignores the request to stop.
type bootDriver struct {
	*fakeDriver
	log *bootLog

	mu sync.Mutex
	// failStarts is how many starts of an instance fail still (-1: all).
	failStarts map[string]int
	// stubborn instances do not stop when asked to, only when killed.
	stubborn map[string]bool
	// gate, when set, holds every start until it is closed.
	gate chan struct{}
}

func newBootDriver(f *fakeDriver, log *bootLog) *bootDriver {
	return &bootDriver{fakeDriver: f, log: log, failStarts: map[string]int{}, stubborn: map[string]bool{}}
}

func (b *bootDriver) Start(ctx context.Context, spec Spec) error {
	b.mu.Lock()
	gate := b.gate
	fail := b.failStarts[spec.Name]
	if fail > 0 {
		b.failStarts[spec.Name]--
	}

	b.mu.Unlock()
	if gate != nil {
		<-gate
	}

	if fail != 0 {
		b.log.add("start-failed %s", spec.Name)
		return errors.New("no such luck")
	}

	b.log.add("start %s", spec.Name)
	return b.fakeDriver.Start(ctx, spec)
}

func (b *bootDriver) Shutdown(ctx context.Context, name string, timeout time.Duration) error {
	b.log.add("shutdown %s %s", name, timeout)
	b.mu.Lock()
	stubborn := b.stubborn[name]
	b.mu.Unlock()
	if stubborn {
		return errors.New("the instance did not stop in time")
	}

	return b.fakeDriver.Shutdown(ctx, name, timeout)
}

func (b *bootDriver) Kill(ctx context.Context, name string) error {
	b.log.add("kill %s", name)
	return b.fakeDriver.Kill(ctx, name)
}

// recordSleeps makes m's clock record the waits it is asked for, and return at once.
func recordSleeps(m *Manager, log *bootLog) {
	m.boot.sleep = func(ctx context.Context, d time.Duration) bool {
		log.add("sleep %s", d)
		return ctx.Err() == nil
	}
}

// restartManager returns a manager on m's database, images and storage with driver, as the daemon has after a
// restart. Its Init has not run yet; what it runs is stopped when the test ends.
func restartManager(t *testing.T, m *Manager, driver Driver, log *bootLog) *Manager {
	t.Helper()
	m2 := NewManager(ManagerArgs{DB: m.db, Images: m.images, Pools: m.pool, Driver: driver, Events: log,
		IDMap: m.idmap, LogDir: m.logDir, Render: m.render})
	recordSleeps(m2, log)
	t.Cleanup(func() { m2.Shutdown(context.Background(), 0) })
	return m2
}

// waitBooted waits until the starts that follow m's Init are over.
func waitBooted(t *testing.T, m *Manager) {
	t.Helper()
	for range 1000 {
		if m.Booted() {
			return
		}

		time.Sleep(5 * time.Millisecond)
	}

	t.Fatal("the starts at daemon start never finished")
}

// bootInstance creates a stopped instance with the given configuration keys (volatile ones included).
func bootInstance(t *testing.T, m *Manager, name string, config map[string]string) {
	t.Helper()
	err := createFromTestImage(t, m, name, "{{ container.name }}\n")
	if err != nil {
		t.Fatal(err)
	}

	err = m.db.Transaction(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		return tx.SetInstanceConfig(ctx, name, config)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func lastState(t *testing.T, m *Manager, name string) string {
	t.Helper()
	inst, err := m.load(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}

	return inst.Config[KeyLastStatePower]
}

func assertEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

// At daemon start, the instances with boot.autostart=true or last running start, higher
// boot.autostart.priority first (then by name), waiting boot.autostart.delay after an instance before the next;
// boot.autostart=false and instances last stopped stay stopped.
func TestBootStartsByPriority(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	err := m.db.Transaction(ctx, func(ctx context.Context, tx *db.Tx) error {
		_, err := tx.CreateProfile(ctx, db.Profile{Name: "early", Config: map[string]string{KeyBootAutostartPriority: "7"},
			Devices: map[string]map[string]string{}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	running := map[string]string{KeyLastStatePower: PowerStateRunning}
	for name, config := range map[string]map[string]string{
		"a":     {KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "1"},
		"b":     {KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "10", KeyBootAutostartDelay: "3"},
		"c":     {KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "10"},
		"never": {KeyLastStatePower: PowerStateRunning, KeyBootAutostart: "false"},
		"e":     {KeyLastStatePower: PowerStateStopped, KeyBootAutostart: "true"},
		"f":     running,
		"g":     {KeyLastStatePower: PowerStateStopped},
		"h":     running,
		"neg":   {KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "-5", KeyBootAutostartDelay: "-2"},
		"unset": {KeyLastStatePower: PowerStateRunning, KeyBootAutostart: ""},
	} {
		bootInstance(t, m, name, config)
	}

	// h gets its priority from a profile.
	inst, err := m.load(ctx, "h")
	if err != nil {
		t.Fatal(err)
	}

	err = m.Update(ctx, "h", api.InstancePut{Config: inst.Config, Profiles: []string{"default", "early"}})
	if err != nil {
		t.Fatal(err)
	}

	log := &bootLog{}
	m2 := restartManager(t, m, newBootDriver(drv, log), log)
	err = m2.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	waitBooted(t, m2)
	assertEvents(t, "starts and waits", log.matching("start", "sleep"),
		"start b", "sleep 3s", "start c", "start h", "start a", "start e", "start f", "start unset", "start neg")
	assertEvents(t, "lifecycle events", log.matching("event"),
		"event instance-started b", "event instance-started c", "event instance-started h", "event instance-started a",
		"event instance-started e", "event instance-started f", "event instance-started unset", "event instance-started neg")
	for _, name := range []string{"never", "g"} {
		if m2.Status(name) != api.Stopped {
			t.Errorf("%s was started", name)
		}
	}

	if lastState(t, m2, "e") != PowerStateRunning {
		t.Errorf("got last state %q for e, want it recorded running once started", lastState(t, m2, "e"))
	}
}

// The starts happen in the background: Init returns before them and Booted says when they are over. An instance
// is checked again just before its start: one changed or deleted meanwhile is left alone.
func TestBootInBackground(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	for name, priority := range map[string]string{"c1": "3", "changed": "2", "deleted": "1"} {
		bootInstance(t, m, name, map[string]string{KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: priority})
	}

	log := &bootLog{}
	bd := newBootDriver(drv, log)
	bd.gate = make(chan struct{})
	m2 := restartManager(t, m, bd, log)
	err := m2.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if m2.Booted() {
		t.Fatal("booted while a start is held")
	}

	// The API goes on meanwhile.
	inst, err := m2.Get(ctx, "changed")
	if err != nil {
		t.Fatalf("got %v reading an instance while another starts, want it answered", err)
	}

	inst.Config[KeyBootAutostart] = "false"
	err = m2.Update(ctx, "changed", inst.Writable())
	if err != nil {
		t.Fatal(err)
	}

	err = m2.Delete(ctx, "deleted")
	if err != nil {
		t.Fatal(err)
	}

	close(bd.gate)
	waitBooted(t, m2)
	assertEvents(t, "starts", log.matching("start"), "start c1")
	if m2.Status("c1") != api.Running || m2.Status("changed") != api.Stopped {
		t.Fatalf("got c1 %v and changed %v, want c1 running only", m2.Status("c1"), m2.Status("changed"))
	}
}

// A start that fails is tried three times, five seconds apart; an instance that never starts does not hold up the
// others.
func TestBootRetries(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	bootInstance(t, m, "flaky", map[string]string{KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "3"})
	bootInstance(t, m, "broken", map[string]string{KeyBootAutostart: "true", KeyBootAutostartPriority: "2", KeyBootAutostartDelay: "9"})
	bootInstance(t, m, "after", map[string]string{KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "1"})
	log := &bootLog{}
	bd := newBootDriver(drv, log)
	bd.failStarts["flaky"] = 2
	bd.failStarts["broken"] = -1
	m2 := restartManager(t, m, bd, log)
	err := m2.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	waitBooted(t, m2)
	assertEvents(t, "starts and waits", log.matching("start", "sleep"),
		"start-failed flaky", "sleep 5s", "start-failed flaky", "sleep 5s", "start flaky",
		"start-failed broken", "sleep 5s", "start-failed broken", "sleep 5s", "start-failed broken",
		"start after")
	if m2.Status("broken") != api.Stopped || m2.pool.IsMounted("broken") {
		t.Fatal("a failed start left broken running or mounted")
	}
}

// The daemon's shutdown stops its instances but records them running, so they start again with it; an instance
// its user stopped, or that stopped from inside, stays stopped.
func TestBootLastState(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	log := &bootLog{}
	bd := newBootDriver(drv, log)
	m.driver = bd
	for _, name := range []string{"r1", "user", "inside"} {
		bootInstance(t, m, name, nil)
		err := m.Start(ctx, name)
		if err != nil {
			t.Fatal(err)
		}

		if lastState(t, m, name) != PowerStateRunning {
			t.Fatalf("got last state %q after a start, want RUNNING", lastState(t, m, name))
		}
	}

	err := m.Stop(ctx, "user", time.Second, false)
	if err != nil {
		t.Fatal(err)
	}

	drv.stop("inside")
	m.waitRunDone("inside")
	for range 1000 {
		if lastState(t, m, "inside") == PowerStateStopped {
			break
		}

		time.Sleep(5 * time.Millisecond)
	}

	for name, want := range map[string]string{"user": PowerStateStopped, "inside": PowerStateStopped} {
		if lastState(t, m, name) != want {
			t.Fatalf("got last state %q for %s, want %s", lastState(t, m, name), name, want)
		}
	}

	m.Shutdown(ctx, 30*time.Second)
	if m.Status("r1") != api.Stopped {
		t.Fatal("r1 still runs after the shutdown")
	}

	if lastState(t, m, "r1") != PowerStateRunning {
		t.Fatalf("got last state %q for r1 after the daemon's shutdown, want RUNNING", lastState(t, m, "r1"))
	}

	m2 := restartManager(t, m, bd, log)
	err = m2.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	waitBooted(t, m2)
	for name, want := range map[string]api.StatusCode{"r1": api.Running, "user": api.Stopped, "inside": api.Stopped} {
		if m2.Status(name) != want {
			t.Errorf("%s: got %v after the restart, want %v", name, m2.Status(name), want)
		}
	}
}

// At the daemon's shutdown, instances stop by boot.stop.priority, higher first, each with its
// boot.host_shutdown_timeout (the daemon's default otherwise); one that does not stop in time is killed.
func TestBootShutdownOrder(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	log := &bootLog{}
	bd := newBootDriver(drv, log)
	m.driver = bd
	m.events = log
	for name, config := range map[string]map[string]string{
		"first":    {KeyBootStopPriority: "10", KeyBootHostShutdownTimeout: "5"},
		"stubborn": {KeyBootStopPriority: "5", KeyBootHostShutdownTimeout: "2"},
		"rest1":    nil,
		"rest2":    {KeyBootStopPriority: "0"},
		"zero":     {KeyBootStopPriority: "-1", KeyBootHostShutdownTimeout: "0"},
		"stopped":  {KeyBootStopPriority: "20"},
	} {
		bootInstance(t, m, name, config)
		if name != "stopped" {
			err := m.Start(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	bd.stubborn["stubborn"] = true
	m.Shutdown(ctx, 30*time.Second)
	got := log.matching("shutdown", "kill")
	if len(got) != 6 {
		t.Fatalf("got %q, want 6 stops", got)
	}

	// rest1 and rest2 stop together, in any order.
	slices.Sort(got[3:5])
	assertEvents(t, "stops", got, "shutdown first 5s", "shutdown stubborn 2s", "kill stubborn",
		"shutdown rest1 30s", "shutdown rest2 30s", "kill zero")
	for _, name := range []string{"first", "stubborn", "rest1", "rest2", "zero"} {
		if m.Status(name) != api.Stopped {
			t.Errorf("%s still runs", name)
		}

		if lastState(t, m, name) != PowerStateRunning {
			t.Errorf("got last state %q for %s, want RUNNING", lastState(t, m, name), name)
		}
	}

	if lastState(t, m, "stopped") != PowerStateStopped {
		t.Errorf("got last state %q for an instance that was not running, want STOPPED", lastState(t, m, "stopped"))
	}

	events := log.matching("event")
	slices.Sort(events)
	assertEvents(t, "lifecycle events", events, "event instance-shutdown first", "event instance-shutdown rest1",
		"event instance-shutdown rest2", "event instance-stopped stubborn", "event instance-stopped zero")
}

// The daemon stopping while instances are still being started cuts the starts short: the one under way finishes
// and is stopped, the others stay recorded running and start with the next daemon.
func TestBootCancelledByShutdown(t *testing.T) {
	m, drv := testManager(t)
	ctx := context.Background()
	bootInstance(t, m, "one", map[string]string{KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "2",
		KeyBootAutostartDelay: "3600"})
	bootInstance(t, m, "two", map[string]string{KeyLastStatePower: PowerStateRunning, KeyBootAutostartPriority: "1"})
	log := &bootLog{}
	bd := newBootDriver(drv, log)
	m2 := restartManager(t, m, bd, log)
	waiting := make(chan struct{})
	m2.boot.sleep = func(ctx context.Context, d time.Duration) bool {
		log.add("sleep %s", d)
		close(waiting)
		<-ctx.Done()
		return false
	}

	err := m2.Init(ctx)
	if err != nil {
		t.Fatal(err)
	}

	select {
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the delay after the first start was never asked for")
	}

	m2.Shutdown(ctx, time.Second)
	if !m2.Booted() {
		t.Fatal("Booted is false after the shutdown")
	}

	assertEvents(t, "starts, waits and stops", log.matching("start", "sleep", "shutdown", "kill"),
		"start one", "sleep 1h0m0s", "shutdown one 1s")
	for _, name := range []string{"one", "two"} {
		if lastState(t, m2, name) != PowerStateRunning {
			t.Errorf("got last state %q for %s, want RUNNING", lastState(t, m2, name), name)
		}
	}
}

func TestValidateBootKeys(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{KeyBootAutostart, "true", true},
		{KeyBootAutostart, "0", true},
		{KeyBootAutostart, "", true},
		{KeyBootAutostart, "maybe", false},
		{KeyBootAutostartDelay, "10", true},
		{KeyBootAutostartDelay, "-1", true},
		{KeyBootAutostartDelay, "1.5", false},
		{KeyBootAutostartDelay, "10s", false},
		{KeyBootAutostartPriority, "100", true},
		{KeyBootAutostartPriority, "high", false},
		{KeyBootStopPriority, "-3", true},
		{KeyBootStopPriority, "99999999999999999999", false},
		{KeyBootHostShutdownTimeout, "30", true},
		{KeyBootHostShutdownTimeout, "", true},
		{KeyBootHostShutdownTimeout, "soon", false},
	}

	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			for _, profile := range []bool{false, true} {
				err := ValidateConfig(map[string]string{tt.key: tt.value}, profile, false)
				if tt.ok && err != nil {
					t.Fatalf("got %v, want it accepted", err)
				}

				if !tt.ok && (err == nil || httpStatus(t, err) != 400 || !strings.Contains(err.Error(), tt.key)) {
					t.Fatalf("got %v, want a 400 naming %s", err, tt.key)
				}
			}
		})
	}
}

func TestBootConfigSeconds(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 30 * time.Second},
		{"5", 5 * time.Second},
		{"0", 0},
		{"-1", -time.Second},
		{"9223372036854775807", time.Duration(9223372036) * time.Second},
	}

	for _, tt := range tests {
		got := configSeconds(map[string]string{KeyBootHostShutdownTimeout: tt.value}, KeyBootHostShutdownTimeout, 30*time.Second)
		if got != tt.want {
			t.Errorf("%q: got %v, want %v", tt.value, got, tt.want)
		}
	}
}
