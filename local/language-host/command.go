package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/google/shlex"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Entry points inside @pulumi/pulumi that bootstrap a program, a policy pack, or a plugin.
const (
	runModule        = "@pulumi/pulumi/cmd/run"
	runPolicyModule  = "@pulumi/pulumi/cmd/run-policy-pack"
	runPluginModule  = "@pulumi/pulumi/cmd/run-plugin"
	analyzerKind     = "analyzer" // apitype.AnalyzerPlugin, without importing the engine's apitype
	exitCodeReported = 32         // cmd/run exits with this after it has logged the error itself
)

// runtimeOptions are the `runtime.options` of Pulumi.yaml (or PulumiPolicy.yaml) we honour.
type runtimeOptions struct {
	TypeScript bool     // run .ts through ts-node (default true)
	TSConfig   string   // tsconfig path for ts-node, relative to the program directory
	NodeArgs   []string // extra arguments for node itself, e.g. --max-old-space-size=4096
	// PackageManager is accepted for compatibility, but InstallDependencies only runs npm.
	PackageManager string
}

func parseRuntimeOptions(opts map[string]any) (runtimeOptions, error) {
	o := runtimeOptions{TypeScript: true}
	for key, value := range opts {
		var ok bool
		switch key {
		case "typescript":
			o.TypeScript, ok = value.(bool)
		case "tsconfig":
			o.TSConfig, ok = value.(string)
		case "nodeargs":
			var s string
			if s, ok = value.(string); ok {
				var err error
				if o.NodeArgs, err = shlex.Split(s); err != nil {
					return o, fmt.Errorf("runtime option nodeargs %q: %w", s, err)
				}
			}
		case "packagemanager":
			o.PackageManager, ok = value.(string)
			if ok && o.PackageManager != "npm" && o.PackageManager != "auto" {
				return o, fmt.Errorf("runtime option packagemanager %q is not supported by this language host: use npm", o.PackageManager)
			}
		default:
			ok = true // unknown options are upstream's business, not an error here
		}
		if !ok {
			return o, fmt.Errorf("runtime option %s has the wrong type: %v (%T)", key, value, value)
		}
	}
	return o, nil
}

// env returns what cmd/run and cmd/run-policy-pack read from the environment to set up ts-node.
func (o runtimeOptions) env() []string {
	var env []string
	if o.TypeScript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.TSConfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.TSConfig)
	}
	return env
}

// programArgs is node's command line for a deployment: the flags cmd/run/index.js parses
// (minimist) followed by the program and its own arguments. --sync is not passed: the SDK no
// longer uses synchronous invokes, so there is no pipe directory to offer.
func programArgs(req *pulumirpc.RunRequest, opts runtimeOptions, runPath, engineAddress, tracing string) []string {
	info := req.GetInfo()
	args := slices.Clone(opts.NodeArgs)
	args = append(args, runPath)
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engineAddress)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", info.GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", cmp.Or(info.GetProgramDirectory(), req.GetPwd()))
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() != 0 {
		flag("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	flag("tracing", tracing)
	// "." lets cmd/run pick package.json's main (or index.ts/index.js) itself.
	args = append(args, cmp.Or(info.GetEntryPoint(), req.GetProgram(), "."))
	return append(args, req.GetArgs()...)
}

// configEnv serialises the stack's configuration the way the Node SDK's runtime/config.js
// reads it: a JSON object of "<namespace>:<key>" to value, and a JSON array of the keys whose
// values are secrets (so config.getSecret/requireSecret wrap them as secret outputs).
func configEnv(req *pulumirpc.RunRequest) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{}
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretsJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	return []string{
		"PULUMI_CONFIG=" + string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS=" + string(secretsJSON),
	}, nil
}

// pluginArgs is node's command line for RunPlugin. The engine passes its own arguments
// (logging flags, then its address) in req.Args. cmd/run-policy-pack expects
// `<engine-address> <policy pack dir>`, so the pack directory goes last; cmd/run-plugin
// expects the plugin directory first.
func pluginArgs(req *pulumirpc.RunPluginRequest, opts runtimeOptions, runPath string) []string {
	dir := req.GetInfo().GetProgramDirectory()
	args := slices.Clone(opts.NodeArgs)
	args = append(args, runPath)
	if req.GetKind() == analyzerKind {
		args = append(args, req.GetArgs()...)
		return append(args, dir)
	}
	args = append(args, dir)
	return append(args, req.GetArgs()...)
}
