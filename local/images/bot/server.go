package main

import (
	"fmt"
	"net/http"
	"strings"
)

// Handler serves /health, /ready and /metrics.
func (b *Bot) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, _ *http.Request) {
		ready, why := b.readiness.Status()
		if !ready {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprint(w, b.metrics())
	})
	return mux
}

// metrics renders the Prometheus text exposition format.
func (b *Bot) metrics() string {
	var s strings.Builder
	gauge := func(name, help string, value int64, labels string) {
		fmt.Fprintf(&s, "# HELP %s %s\n# TYPE %s gauge\n%s%s %d\n", name, help, name, name, labels, value)
	}
	ready, _ := b.readiness.Status()
	gauge("trading_bot_up", "1 while the bot process runs.", 1, "")
	gauge("trading_bot_ready", "1 while PostgreSQL and Redis accept the bot's credentials.", boolValue(ready), "")
	gauge("trading_bot_leader", "1 while this replica may trade: it holds the Lease, or leader election is off.", boolValue(b.leader.Load()), "")
	fmt.Fprintf(&s, "# HELP trading_bot_dependency_up 1 while the dependency passed its last check.\n# TYPE trading_bot_dependency_up gauge\n")
	for _, name := range []string{"postgres", "redis"} {
		fmt.Fprintf(&s, "trading_bot_dependency_up{dependency=%q} %d\n", name, boolValue(b.readiness.Up(name)))
	}
	fmt.Fprintf(&s, "# HELP trading_bot_orders_total Orders placed (dry: logged, never sent to the exchange).\n# TYPE trading_bot_orders_total counter\ntrading_bot_orders_total %d\n", b.orders.Load())
	return s.String()
}

func boolValue(v bool) int64 {
	if v {
		return 1
	}
	return 0
}
