package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Check tries one dependency with the configured credentials; nil means it accepted them.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Readiness re-runs the checks every checkInterval and keeps the latest outcome.
type Readiness struct {
	checks []Check
	mu     sync.Mutex
	failed map[string]string // dependency -> why it failed; empty when all pass
	ran    bool
}

func NewReadiness(cfg Config) *Readiness {
	return &Readiness{checks: []Check{
		{"postgres", func(ctx context.Context) error { return checkPostgres(ctx, cfg.Database) }},
		{"redis", func(ctx context.Context) error { return checkRedis(ctx, cfg.Redis) }},
	}}
}

// Run checks at once, then every checkInterval, until ctx ends. Changes are logged, not every check.
func (r *Readiness) Run(ctx context.Context, log *slog.Logger) {
	ticker := time.NewTicker(checkInterval)
	defer ticker.Stop()
	logged := ""
	for {
		r.CheckOnce(ctx)
		ready, why := r.Status()
		if state := fmt.Sprint(ready, why); state != logged && ctx.Err() == nil {
			logged = state
			if ready {
				log.Info("ready: PostgreSQL and Redis accept the credentials")
			} else {
				log.Warn("not ready", "reason", why)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// CheckOnce runs every check (concurrently, each within checkTimeout) and records the outcome.
func (r *Readiness) CheckOnce(ctx context.Context) {
	failed := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range r.checks {
		wg.Go(func() {
			checkCtx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			if err := c.Run(checkCtx); err != nil {
				mu.Lock()
				failed[c.Name] = err.Error()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r.mu.Lock()
	r.failed, r.ran = failed, true
	r.mu.Unlock()
}

// Status is whether every dependency passed its last check, and if not, why (one line).
func (r *Readiness) Status() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ran {
		return false, "not checked yet"
	}
	var reasons []string
	for _, c := range r.checks {
		if why, ok := r.failed[c.Name]; ok {
			reasons = append(reasons, c.Name+": "+why)
		}
	}
	return len(reasons) == 0, strings.Join(reasons, "; ")
}

// Up is whether one dependency passed its last check.
func (r *Readiness) Up(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, failed := r.failed[name]
	return r.ran && !failed
}

// checkPostgres connects and authenticates with the configured sslmode, then runs a query.
func checkPostgres(ctx context.Context, db Database) error {
	if db.Host == "" || db.Name == "" || db.User == "" {
		return errors.New("DATABASE_HOST, DATABASE_NAME and DATABASE_USER must be set")
	}
	if db.Password == "" {
		return errors.New("DATABASE_PASSWORD is not set")
	}
	// The password is set on the parsed config, never written into the connection string.
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s dbname=%s user=%s sslmode=%s",
		quote(db.Host), quote(db.Port), quote(db.Name), quote(db.User), quote(db.SSLMode)))
	if err != nil {
		return fmt.Errorf("invalid database settings: %w", err)
	}
	cfg.Password = db.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// quote makes a libpq keyword/value connection string value.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// quietRedisLog drops go-redis' own log lines (a failed dial, every check): /ready and the
// bot's log already say why Redis fails.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedisLog{}) }

// checkRedis authenticates (AUTH), selects REDIS_DB and sends PING, over TLS when REDIS_TLS=true.
func checkRedis(ctx context.Context, cfg Redis) error {
	if cfg.Host == "" {
		return errors.New("REDIS_HOST must be set")
	}
	if cfg.Password == "" {
		return errors.New("REDIS_PASSWORD is not set")
	}
	opts := &redis.Options{
		Addr: net.JoinHostPort(cfg.Host, cfg.Port), Password: cfg.Password, DB: cfg.DB,
		DialTimeout: checkTimeout, ReadTimeout: checkTimeout, WriteTimeout: checkTimeout,
		MaxRetries: -1, PoolSize: 1, Protocol: 2, DisableIdentity: true,
	}
	if cfg.TLS {
		tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName}
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = cfg.Host
		}
		if cfg.TLSCAFile != "" {
			pem, err := os.ReadFile(cfg.TLSCAFile)
			if err != nil {
				return fmt.Errorf("REDIS_TLS_CA_FILE: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("REDIS_TLS_CA_FILE %s holds no PEM certificate", cfg.TLSCAFile)
			}
			tlsConfig.RootCAs = pool
		}
		opts.TLSConfig = tlsConfig
	}
	client := redis.NewClient(opts)
	defer client.Close()
	return client.Ping(ctx).Err()
}
