// The stand-in trading bot: it honours the contract the Pulumi program gives the real bot (its
// environment from the ConfigMap and Secret, the probes, the writable directories, leader
// election, graceful stop) and places no order anywhere: the leader only logs that it would.
//
// Endpoints on HTTP_PORT: /health (200 while the process runs), /ready (200 only while PostgreSQL
// and Redis accept the configured credentials; the body says what fails) and /metrics (Prometheus).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// How often readiness is re-checked, and how long one check of one dependency may take.
	checkInterval = 5 * time.Second
	checkTimeout  = 3 * time.Second
	// After SIGTERM: how long to wait for the HTTP server and the Lease release before exiting anyway
	// (well inside any termination grace period).
	stopTimeout = 5 * time.Second
	// Files written at start; nothing else is written.
	stateFile = "trading-bot-state.json"
	logFile   = "trading-bot.log"
)

// How often the leader would place an order when trading is enabled (a variable: tests shorten it).
var orderInterval = 3 * time.Second

// Bot is the running process' state, read by the HTTP handlers.
type Bot struct {
	cfg       Config
	log       *slog.Logger
	readiness *Readiness
	leader    atomic.Bool
	orders    atomic.Int64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, LoadConfig(os.Getenv), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "trading-bot: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (SIGTERM), then stops within stopTimeout. It fails early when it
// cannot write its data or log directory, or listen on its port.
func run(ctx context.Context, cfg Config, stdout io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	logs, err := os.OpenFile(filepath.Join(cfg.LogDir, logFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("cannot open the log file (LOG_DIR=%s): %w", cfg.LogDir, err)
	}
	defer logs.Close()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(stdout, logs), &slog.HandlerOptions{Level: cfg.LogLevel}))

	state, _ := json.Marshal(map[string]string{"pod": cfg.PodName, "environment": cfg.Environment, "startedAt": time.Now().UTC().Format(time.RFC3339)})
	if err := os.WriteFile(filepath.Join(cfg.DataDir, stateFile), append(state, '\n'), 0o640); err != nil {
		return fmt.Errorf("cannot write to the data directory (DATA_DIR=%s): %w", cfg.DataDir, err)
	}

	listener, err := net.Listen("tcp", fmt.Sprintf(":%d", cfg.HTTPPort))
	if err != nil {
		return err
	}
	bot := &Bot{cfg: cfg, log: log, readiness: NewReadiness(cfg)}
	log.Info("starting", "pod", cfg.PodName, "environment", cfg.Environment, "port", cfg.HTTPPort,
		"tradingEnabled", cfg.TradingEnabled, "leaderElection", cfg.LeaderElection)

	work, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	server := &http.Server{Handler: bot.Handler(), ReadHeaderTimeout: 5 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(listener) }()
	wg.Go(func() { bot.readiness.Run(work, log) })
	wg.Go(func() { bot.lead(work) })
	wg.Go(func() { bot.trade(work) })

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	cancel()
	shutdownCtx, done := context.WithTimeout(context.Background(), stopTimeout)
	defer done()
	if err := server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http server did not stop cleanly", "error", err)
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		log.Warn("background work did not stop in time; exiting anyway")
	}
	log.Info("stopped", "ordersTotal", bot.orders.Load())
	return nil
}

// trade is the trading loop: only the leader "places orders", and never calls the exchange.
func (b *Bot) trade(ctx context.Context) {
	if !b.cfg.TradingEnabled {
		return
	}
	ticker := time.NewTicker(orderInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			if b.leader.Load() {
				n := b.orders.Add(1)
				b.log.Info("placing order (dry, no exchange call)", "ordersTotal", n, "exchange", b.cfg.ExchangeEndpoint)
			}
		}
	}
}
