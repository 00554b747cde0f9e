package main

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Config is the bot's environment, as components/tradingBot/configuration.ts (configData, the
// ConfigMap) and workload.ts (secretEnv and the downward API) define it.
type Config struct {
	Environment      string
	LogLevel         slog.Level
	HTTPPort         int
	DataDir, LogDir  string
	PodName          string
	PodUID           string
	PodNamespace     string
	TradingEnabled   bool
	ExchangeEndpoint string
	LeaderElection   bool
	LeaseName        string

	Database Database
	Redis    Redis
}

type Database struct {
	Host, Port, Name, User, SSLMode string
	Password                        string
}

type Redis struct {
	Host, Port string
	DB         int
	Password   string
	TLS        bool
	// TLSServerName and TLSCAFile are optional: the name to verify and a CA bundle to trust.
	TLSServerName, TLSCAFile string
}

// LoadConfig reads the environment through getenv; Validate says what is wrong with it.
func LoadConfig(getenv func(string) string) Config {
	or := func(key, fallback string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return fallback
	}
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(strings.ToUpper(or("LOG_LEVEL", "info"))))
	port, _ := strconv.Atoi(or("HTTP_PORT", "8000"))
	db, _ := strconv.Atoi(or("REDIS_DB", "0"))
	return Config{
		Environment:      getenv("ENVIRONMENT"),
		LogLevel:         level,
		HTTPPort:         port,
		DataDir:          or("DATA_DIR", "/app/data"),
		LogDir:           or("LOG_DIR", "/app/logs"),
		PodName:          or("POD_NAME", "trading-bot"),
		PodUID:           getenv("POD_UID"),
		PodNamespace:     getenv("POD_NAMESPACE"),
		TradingEnabled:   getenv("TRADING_ENABLED") == "true",
		ExchangeEndpoint: getenv("EXCHANGE_ENDPOINT"),
		LeaderElection:   getenv("LEADER_ELECTION_ENABLED") == "true",
		LeaseName:        getenv("LEADER_ELECTION_LEASE_NAME"),
		Database: Database{
			Host: getenv("DATABASE_HOST"), Port: or("DATABASE_PORT", "5432"), Name: getenv("DATABASE_NAME"),
			User: getenv("DATABASE_USER"), SSLMode: or("DATABASE_SSL_MODE", "prefer"), Password: getenv("DATABASE_PASSWORD"),
		},
		Redis: Redis{
			Host: getenv("REDIS_HOST"), Port: or("REDIS_PORT", "6379"), DB: db, Password: getenv("REDIS_PASSWORD"),
			TLS: getenv("REDIS_TLS") == "true", TLSServerName: getenv("REDIS_TLS_SERVER_NAME"), TLSCAFile: getenv("REDIS_TLS_CA_FILE"),
		},
	}
}

// Validate rejects settings the bot cannot start with. Missing database settings are not among
// them: the bot then runs and reports itself not ready, saying why.
func (c Config) Validate() error {
	var problems []string
	if c.HTTPPort <= 0 || c.HTTPPort > 65535 {
		problems = append(problems, "HTTP_PORT must be a port number (1-65535)")
	}
	if c.LeaderElection && (c.LeaseName == "" || c.PodNamespace == "") {
		problems = append(problems, "LEADER_ELECTION_ENABLED=true needs LEADER_ELECTION_LEASE_NAME and POD_NAMESPACE")
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration: %w", errors.New(strings.Join(problems, "; ")))
	}
	return nil
}

// Identity is the replica's name in the Lease: the pod's name and uid. A StatefulSet's replacement
// pod has the old pod's name; with the name alone it would take the Lease at once as its own
// holder, while the old process may still lead (a pod force-deleted on an unreachable node).
func (c Config) Identity() string {
	if c.PodUID == "" {
		return c.PodName
	}
	return c.PodName + "_" + c.PodUID
}
