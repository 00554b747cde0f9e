package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// nodeHost implements the engine's LanguageRuntime service for Node.js programs. Methods the
// engine may call but this project does not need (code generation, packing, templates,
// debugger attach) are left to UnimplementedLanguageRuntimeServer.
type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	tracing string

	mu            sync.Mutex
	engineAddress string // from the command line, or from Handshake when the engine attaches
}

func newNodeHost(engineAddress, tracing string) *nodeHost {
	return &nodeHost{engineAddress: engineAddress, tracing: tracing}
}

func (h *nodeHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *nodeHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *nodeHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetRequiredPackages tells the engine which provider plugins to load before the program runs.
func (h *nodeHost) GetRequiredPackages(
	_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	var packages []*pulumirpc.PackageDependency
	for _, p := range scanPlugins(req.GetInfo().GetProgramDirectory()) {
		packages = append(packages, &pulumirpc.PackageDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: packages}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages, still used by some commands.
func (h *nodeHost) GetRequiredPlugins(
	_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := cmp.Or(req.GetInfo().GetProgramDirectory(), req.GetPwd()) //nolint:staticcheck // older engines send Pwd only
	var plugins []*pulumirpc.PluginDependency
	for _, p := range scanPlugins(dir) {
		plugins = append(plugins, &pulumirpc.PluginDependency{
			Name: p.Name, Kind: "resource", Version: p.Version, Server: p.Server,
		})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

// scanPlugins reports what it could find: a broken package in node_modules should surface when
// the program runs, not stop the engine from loading the plugins of every other package.
func scanPlugins(dir string) []pluginRef {
	pkgs, err := installedPackages(dir)
	if err != nil {
		logging.V(3).Infof("reading node_modules in %s: %v", dir, err)
	}
	plugins, err := requiredPlugins(pkgs)
	if err != nil {
		logging.V(3).Infof("naming plugins in %s: %v", dir, err)
	}
	return plugins
}

// Run runs the program once, for a preview or an update, and waits for it to finish.
func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	// A failure to start the program is the program's error (RunResponse.Error), shown to the
	// user as such; a gRPC error would read like a crash of the engine.
	fail := func(err error) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	dir := cmp.Or(req.GetInfo().GetProgramDirectory(), req.GetPwd())
	opts, err := parseRuntimeOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return fail(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fail(fmt.Errorf("could not find node on PATH: %w", err))
	}
	runPath, ok := findModule(dir, runModule)
	if !ok {
		return fail(fmt.Errorf("could not find %s from %s: the Pulumi SDK is not installed; run npm install", runModule, dir))
	}
	config, err := configEnv(req)
	if err != nil {
		return fail(fmt.Errorf("serialising configuration: %w", err))
	}

	cmd := exec.CommandContext(ctx, node, programArgs(req, opts, runPath, h.engine(), h.tracing)...)
	cmd.Dir = dir
	cmd.Env = slices.Concat(os.Environ(), config, opts.env())
	// Node may switch a stdio descriptor it inherits to non-blocking mode, after which the
	// engine's own writes to the shared descriptor fail with EAGAIN. Hiding *os.File behind a
	// plain io.Writer makes exec copy through a pipe, so node never shares our descriptors.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	interruptOnCancel(cmd)
	logging.V(5).Infof("running %s", cmd)

	err = cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return fail(fmt.Errorf("could not run node: %w", err))
	}
	switch code := exit.ExitCode(); {
	case code == exitCodeReported:
		// cmd/run has already logged the error through the engine; Bail ends the update
		// without the engine printing a second, less useful message.
		return &pulumirpc.RunResponse{Bail: true}, nil
	case code > 0:
		return fail(fmt.Errorf("Program exited with non-zero exit code: %d", code))
	default: // killed by a signal
		return fail(fmt.Errorf("Program exited unexpectedly: %w", err))
	}
}

// interruptOnCancel makes a cancelled request (the engine went away, or the user pressed
// Ctrl-C) interrupt node, which lets the SDK flush and exit, before killing it.
func interruptOnCancel(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
}

// RunPlugin runs a Node.js plugin through @pulumi/pulumi: policy packs (kind "analyzer") and
// component providers. Its output streams back to the engine, which reads the plugin's gRPC
// port from stdout; the exit code is the last message.
func (h *nodeHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse],
) error {
	dir := req.GetInfo().GetProgramDirectory()
	opts, err := parseRuntimeOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on PATH: %w", err)
	}
	module := runPluginModule
	if req.GetKind() == analyzerKind {
		module = runPolicyModule
	}
	runPath, ok := findModule(dir, module)
	if !ok {
		// The engine recognises this message and tells the user to install the pack's dependencies.
		return fmt.Errorf("Cannot find module '%s' from %s; run npm install there", module, dir)
	}

	out := &streamSender[*pulumirpc.RunPluginResponse]{stream: server}
	cmd := exec.CommandContext(server.Context(), node, pluginArgs(req, opts, runPath)...)
	// Policy packs have always run from their own directory; other plugins from the engine's.
	cmd.Dir = req.GetPwd()
	if req.GetKind() == analyzerKind || cmd.Dir == "" {
		cmd.Dir = dir
	}
	// req.Env is the complete environment the engine wants the plugin to see.
	cmd.Env = slices.Concat(req.GetEnv(), opts.env())
	cmd.Stdout = out.writer(func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	})
	cmd.Stderr = out.writer(func(b []byte) *pulumirpc.RunPluginResponse {
		return &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}}
	})
	interruptOnCancel(cmd)
	logging.V(5).Infof("running plugin %s", cmd)

	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return fmt.Errorf("could not run node: %w", err)
	}
	return out.send(&pulumirpc.RunPluginResponse{
		Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(cmd.ProcessState.ExitCode())},
	})
}

// InstallDependencies runs `npm install` in the program directory (`pulumi install`, or
// `pulumi new`), streaming npm's output to the engine.
func (h *nodeHost) InstallDependencies(
	req *pulumirpc.InstallDependenciesRequest, server grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse],
) error {
	dir := cmp.Or(req.GetInfo().GetProgramDirectory(), req.GetDirectory()) //nolint:staticcheck // older engines
	if _, err := parseRuntimeOptions(req.GetInfo().GetOptions().AsMap()); err != nil {
		return err
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("could not find npm on PATH: %w", err)
	}
	out := &streamSender[*pulumirpc.InstallDependenciesResponse]{stream: server}
	cmd := exec.CommandContext(server.Context(), npm, "install")
	cmd.Dir = dir
	cmd.Stdout = out.writer(func(b []byte) *pulumirpc.InstallDependenciesResponse {
		return &pulumirpc.InstallDependenciesResponse{Stdout: b}
	})
	cmd.Stderr = out.writer(func(b []byte) *pulumirpc.InstallDependenciesResponse {
		return &pulumirpc.InstallDependenciesResponse{Stderr: b}
	})
	interruptOnCancel(cmd)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install in %s: %w", dir, err)
	}
	return nil
}

// About reports the node the program runs on, for `pulumi about`.
func (h *nodeHost) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w", node, err)
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    strings.TrimPrefix(strings.TrimSpace(string(out)), "v"),
	}, nil
}

// GetProgramDependencies lists the program's packages for `pulumi about`: the ones package.json
// declares, or with TransitiveDependencies everything installed in node_modules.
func (h *nodeHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	var deps []*pulumirpc.DependencyInfo
	if req.GetTransitiveDependencies() {
		installed, err := installedPackages(dir)
		if err != nil {
			logging.V(3).Infof("reading node_modules in %s: %v", dir, err)
		}
		for _, p := range installed {
			deps = append(deps, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
		}
	} else {
		declared, err := declaredDependencies(dir)
		if err != nil {
			return nil, err
		}
		for name, wanted := range declared {
			// Report what is installed, since that is what runs; the range from
			// package.json stands in when nothing is.
			deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: cmp.Or(installedVersion(dir, name), wanted)})
		}
	}
	slices.SortFunc(deps, func(a, b *pulumirpc.DependencyInfo) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// installedVersion is the version of the package name installed at the top of dir/node_modules,
// or "" when there is none.
func installedVersion(dir, name string) string {
	data, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"))
	if err != nil {
		return ""
	}
	var pkg nodePackage
	if json.Unmarshal(data, &pkg) != nil {
		return ""
	}
	return pkg.Version
}

// declaredDependencies reads dependencies and devDependencies from dir/package.json.
func declaredDependencies(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Dependencies    map[string]string `json:"dependencies"`
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(data, &manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err)
	}
	deps := map[string]string{}
	for name, v := range manifest.DevDependencies {
		deps[name] = v
	}
	for name, v := range manifest.Dependencies {
		deps[name] = v
	}
	return deps, nil
}

// streamSender serialises sends on a gRPC server stream: exec copies a child's stdout and
// stderr on two goroutines, and a gRPC stream must not be sent on concurrently.
type streamSender[T any] struct {
	mu     sync.Mutex
	stream interface{ Send(T) error }
}

func (s *streamSender[T]) send(msg T) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(msg)
}

// writer returns an io.Writer that sends each write as one message built by wrap.
func (s *streamSender[T]) writer(wrap func([]byte) T) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		// exec reuses p once Write returns; gRPC asks that a sent message not change.
		if err := s.send(wrap(bytes.Clone(p))); err != nil {
			return 0, err
		}
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
