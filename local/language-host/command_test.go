package main

import (
	"slices"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestParseRuntimeOptions(t *testing.T) {
	opts, err := parseRuntimeOptions(nil)
	if err != nil || !opts.TypeScript || opts.NodeArgs != nil || opts.TSConfig != "" {
		t.Errorf("defaults: got %+v, %v; want TypeScript on and nothing else", opts, err)
	}

	opts, err = parseRuntimeOptions(map[string]any{
		"typescript":  false,
		"tsconfig":    "tsconfig.pulumi.json",
		"nodeargs":    `--max-old-space-size=4096 --title "trading bot"`,
		"buildTarget": "ignored: an option this host does not use",
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.TypeScript || opts.TSConfig != "tsconfig.pulumi.json" {
		t.Errorf("got %+v", opts)
	}
	if want := []string{"--max-old-space-size=4096", "--title", "trading bot"}; !slices.Equal(opts.NodeArgs, want) {
		t.Errorf("nodeargs: got %q, want %q", opts.NodeArgs, want)
	}
	if want := []string{"PULUMI_NODEJS_TSCONFIG_PATH=tsconfig.pulumi.json"}; !slices.Equal(opts.env(), want) {
		t.Errorf("env: got %q, want %q", opts.env(), want)
	}

	for _, bad := range []map[string]any{
		{"typescript": "yes"},
		{"nodeargs": 42},
		{"packagemanager": "yarn"},
	} {
		if _, err := parseRuntimeOptions(bad); err == nil {
			t.Errorf("parseRuntimeOptions(%v): want an error", bad)
		}
	}
}

func TestProgramArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:1001",
		Organization:   "organization",
		Project:        "trading-bot",
		Stack:          "dev",
		DryRun:         true,
		Parallel:       16,
		Args:           []string{"extra"},
		Info: &pulumirpc.ProgramInfo{
			RootDirectory:    "/src",
			ProgramDirectory: "/src/infra",
			EntryPoint:       ".",
		},
	}
	opts := runtimeOptions{TypeScript: true, NodeArgs: []string{"--enable-source-maps"}}
	got := programArgs(req, opts, "/src/node_modules/@pulumi/pulumi/cmd/run", "127.0.0.1:1000", "")
	want := []string{
		"--enable-source-maps",
		"/src/node_modules/@pulumi/pulumi/cmd/run",
		"--monitor", "127.0.0.1:1001",
		"--engine", "127.0.0.1:1000",
		"--organization", "organization",
		"--project", "trading-bot",
		"--root-directory", "/src",
		"--stack", "dev",
		"--pwd", "/src/infra",
		"--dry-run",
		"--parallel", "16",
		".",
		"extra",
	}
	if !slices.Equal(got, want) {
		t.Errorf("programArgs:\n got %q\nwant %q", got, want)
	}

	// An update (no --dry-run), with an entry point from Pulumi.yaml `main`, and tracing.
	req.DryRun, req.Parallel, req.Args = false, 0, nil
	req.Info.EntryPoint = "bin/index.js"
	got = programArgs(req, runtimeOptions{}, "run", "engine", "http://trace")
	want = []string{
		"run", "--monitor", "127.0.0.1:1001", "--engine", "engine", "--organization", "organization",
		"--project", "trading-bot", "--root-directory", "/src", "--stack", "dev", "--pwd", "/src/infra",
		"--tracing", "http://trace", "bin/index.js",
	}
	if !slices.Equal(got, want) {
		t.Errorf("programArgs:\n got %q\nwant %q", got, want)
	}
}

func TestConfigEnv(t *testing.T) {
	got, err := configEnv(&pulumirpc.RunRequest{
		Config:           map[string]string{"trading-bot:apiKey": "s3cret", "trading-bot:replicas": "2"},
		ConfigSecretKeys: []string{"trading-bot:apiKey"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`PULUMI_CONFIG={"trading-bot:apiKey":"s3cret","trading-bot:replicas":"2"}`,
		`PULUMI_CONFIG_SECRET_KEYS=["trading-bot:apiKey"]`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	// No config still yields valid JSON: the SDK parses both variables unconditionally.
	got, err = configEnv(&pulumirpc.RunRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"PULUMI_CONFIG={}", "PULUMI_CONFIG_SECRET_KEYS=[]"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPluginArgs(t *testing.T) {
	info := &pulumirpc.ProgramInfo{ProgramDirectory: "/policy"}
	engineArgs := []string{"--logtostderr", "-v=9", "127.0.0.1:1000"}

	// run-policy-pack wants `<engine address> <pack dir>`: the pack directory goes last.
	got := pluginArgs(&pulumirpc.RunPluginRequest{Kind: "analyzer", Args: engineArgs, Info: info},
		runtimeOptions{}, "/policy/node_modules/@pulumi/pulumi/cmd/run-policy-pack")
	want := []string{"/policy/node_modules/@pulumi/pulumi/cmd/run-policy-pack", "--logtostderr", "-v=9", "127.0.0.1:1000", "/policy"}
	if !slices.Equal(got, want) {
		t.Errorf("policy pack:\n got %q\nwant %q", got, want)
	}

	// run-plugin wants the plugin directory first.
	got = pluginArgs(&pulumirpc.RunPluginRequest{Kind: "resource", Args: []string{"127.0.0.1:1000"}, Info: info},
		runtimeOptions{NodeArgs: []string{"--inspect"}}, "run-plugin")
	want = []string{"--inspect", "run-plugin", "/policy", "127.0.0.1:1000"}
	if !slices.Equal(got, want) {
		t.Errorf("plugin:\n got %q\nwant %q", got, want)
	}
}
