package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The test binary doubles as the bot (TestSIGTERM runs it with BOT_TEST_RUN_MAIN=1).
func TestMain(m *testing.M) {
	if os.Getenv("BOT_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// syncBuffer is a log sink safe for concurrent writes and reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	var pgErr error = errors.New("password authentication failed for user \"bot\"")
	var mu sync.Mutex
	readiness := &Readiness{checks: []Check{
		{"postgres", func(context.Context) error { mu.Lock(); defer mu.Unlock(); return pgErr }},
		{"redis", func(context.Context) error { return nil }},
	}}
	bot := &Bot{readiness: readiness, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	server := httptest.NewServer(bot.Handler())
	defer server.Close()

	if code, _ := get(t, server.URL+"/health"); code != 200 {
		t.Errorf("/health: %d, want 200", code)
	}
	if code, body := get(t, server.URL+"/ready"); code != 503 || !strings.Contains(body, "not checked yet") {
		t.Errorf("/ready before any check: %d %q, want 503 not checked yet", code, body)
	}
	readiness.CheckOnce(context.Background())
	if code, body := get(t, server.URL+"/ready"); code != 503 || !strings.Contains(body, "postgres: password authentication failed") || strings.Contains(body, "redis") {
		t.Errorf("/ready with PostgreSQL failing: %d %q", code, body)
	}
	_, metrics := get(t, server.URL+"/metrics")
	for _, line := range []string{"trading_bot_up 1", "trading_bot_ready 0", "trading_bot_leader 0", "trading_bot_orders_total 0",
		`trading_bot_dependency_up{dependency="postgres"} 0`, `trading_bot_dependency_up{dependency="redis"} 1`} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, metrics)
		}
	}

	mu.Lock()
	pgErr = nil
	mu.Unlock()
	readiness.CheckOnce(context.Background())
	bot.leader.Store(true)
	bot.orders.Add(2)
	if code, body := get(t, server.URL+"/ready"); code != 200 {
		t.Errorf("/ready with both passing: %d %q, want 200", code, body)
	}
	_, metrics = get(t, server.URL+"/metrics")
	for _, line := range []string{"trading_bot_ready 1", "trading_bot_leader 1", "trading_bot_orders_total 2"} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, metrics)
		}
	}
}

func TestChecksSayWhatIsMissing(t *testing.T) {
	ctx := context.Background()
	if err := checkPostgres(ctx, Database{Host: "h", Name: "n", User: "u"}); err == nil || !strings.Contains(err.Error(), "DATABASE_PASSWORD") {
		t.Errorf("postgres without a password: %v", err)
	}
	if err := checkRedis(ctx, Redis{Host: "h", Port: "1"}); err == nil || !strings.Contains(err.Error(), "REDIS_PASSWORD") {
		t.Errorf("redis without a password: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func testConfig(t *testing.T) Config {
	cfg := LoadConfig(func(string) string { return "" })
	cfg.HTTPPort, cfg.DataDir, cfg.LogDir = freePort(t), t.TempDir(), t.TempDir()
	return cfg
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
	}
}

// run writes its state and log files, serves, trades as the only replica, and stops when cancelled.
func TestRunWritesTradesAndStops(t *testing.T) {
	cfg := testConfig(t)
	cfg.TradingEnabled = true
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	result := make(chan error, 1)
	go func() { result <- run(ctx, cfg, out) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", cfg.HTTPPort)
	waitFor(t, "/health", 5*time.Second, func() bool {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
	if _, err := os.Stat(filepath.Join(cfg.DataDir, stateFile)); err != nil {
		t.Errorf("no state file in DATA_DIR: %v", err)
	}
	waitFor(t, "a dry order", 2*orderInterval, func() bool { return strings.Contains(out.String(), "placing order (dry, no exchange call)") })
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, "trading_bot_leader 1\n") || strings.Contains(metrics, "trading_bot_orders_total 0\n") {
		t.Errorf("without leader election the only replica leads and trades:\n%s", metrics)
	}
	if code, body := get(t, base+"/ready"); code != 503 || !strings.Contains(body, "DATABASE_HOST") || !strings.Contains(body, "REDIS_HOST") {
		t.Errorf("/ready without database settings: %d %q", code, body)
	}

	start := time.Now()
	cancel()
	select {
	case err := <-result:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(stopTimeout + time.Second):
		t.Fatal("run did not return after cancel")
	}
	t.Logf("stopped in %s", time.Since(start))
	logged, _ := os.ReadFile(filepath.Join(cfg.LogDir, logFile))
	if !strings.Contains(string(logged), "shutting down") || !strings.Contains(string(logged), "placing order") {
		t.Errorf("log file lacks the shutdown or the orders:\n%s", logged)
	}
}

func TestRunFailsOnReadOnlyDataDir(t *testing.T) {
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(cfg.DataDir, "missing")
	if err := run(context.Background(), cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "DATA_DIR") {
		t.Errorf("run with an unwritable data directory: %v", err)
	}
}

// The process exits 0 on SIGTERM, quickly, saying so.
func TestSIGTERM(t *testing.T) {
	cfg := testConfig(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "BOT_TEST_RUN_MAIN=1", fmt.Sprint("HTTP_PORT=", cfg.HTTPPort), "DATA_DIR="+cfg.DataDir, "LOG_DIR="+cfg.LogDir)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bot to start", 5*time.Second, func() bool { return strings.Contains(out.String(), "msg=starting") })
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", err, out)
	}
	if took := time.Since(start); took > stopTimeout {
		t.Errorf("took %s to stop", took)
	}
	if !strings.Contains(out.String(), "shutting down") {
		t.Errorf("no 'shutting down' in the output:\n%s", out)
	}
}

// With a working Lease the replica leads; without the RBAC rule it never does and says why.
func TestLeaderElection(t *testing.T) {
	for _, tc := range []struct {
		name      string
		forbidden bool
	}{{"allowed", false}, {"forbidden", true}} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			if tc.forbidden {
				client.PrependReactor("*", "leases", func(action k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewForbidden(coordinationv1.Resource("leases"), "bot", errors.New("RBAC: the Role lacks the Lease rule"))
				})
			}
			out := &syncBuffer{}
			bot := &Bot{cfg: Config{LeaderElection: true, LeaseName: "bot", PodNamespace: "ns", PodName: "pod-a"},
				log: slog.New(slog.NewTextHandler(out, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { bot.elect(ctx, client); close(done) }()
			defer func() { cancel(); <-done }()
			if !tc.forbidden {
				waitFor(t, "leadership", 5*time.Second, bot.leader.Load)
				lease, err := client.CoordinationV1().Leases("ns").Get(ctx, "bot", metav1.GetOptions{})
				if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "pod-a" {
					t.Errorf("lease %+v (%v), want held by pod-a", lease, err)
				}
				return
			}
			waitFor(t, "the reason to be logged", 5*time.Second, func() bool { return strings.Contains(out.String(), "forbidden") })
			time.Sleep(2 * retryPeriod)
			if bot.leader.Load() {
				t.Error("leads without access to the Lease")
			}
			if n := strings.Count(out.String(), "cannot get the Lease"); n != 1 {
				t.Errorf("the reason was logged %d times, want once:\n%s", n, out)
			}
		})
	}
}

// Only the leader places orders.
func TestOnlyTheLeaderTrades(t *testing.T) {
	defer func(d time.Duration) { orderInterval = d }(orderInterval)
	orderInterval = 50 * time.Millisecond
	out := &syncBuffer{}
	bot := &Bot{cfg: Config{TradingEnabled: true}, log: slog.New(slog.NewTextHandler(out, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { bot.trade(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(10 * orderInterval)
	if n := bot.orders.Load(); n != 0 || strings.Contains(out.String(), "placing order") {
		t.Fatalf("a replica that does not lead placed %d orders:\n%s", n, out)
	}
	bot.leader.Store(true)
	waitFor(t, "orders from the leader", 2*time.Second, func() bool { return bot.orders.Load() >= 2 })
	bot.leader.Store(false)
	time.Sleep(2 * orderInterval)
	n := bot.orders.Load()
	time.Sleep(5 * orderInterval)
	if bot.orders.Load() != n {
		t.Error("orders went on after leadership was lost")
	}
}

// A replacement pod with the same name is another identity in the Lease.
func TestIdentityIsNameAndUID(t *testing.T) {
	if got := (Config{PodName: "bot-0", PodUID: "1234"}).Identity(); got != "bot-0_1234" {
		t.Fatalf("Identity() = %q, want bot-0_1234", got)
	}
	if got := (Config{PodName: "bot-0"}).Identity(); got != "bot-0" {
		t.Fatalf("Identity() without a uid = %q, want bot-0", got)
	}
}
