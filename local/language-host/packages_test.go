package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writePackage writes dir/package.json, creating dir.
func writePackage(t *testing.T, dir, packageJSON string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(packageJSON), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredPluginsScansScopedNestedAndLinkedPackages(t *testing.T) {
	program := t.TempDir()
	nm := filepath.Join(program, "node_modules")
	writePackage(t, program, `{"name":"program"}`)
	writePackage(t, filepath.Join(nm, "@pulumi", "pulumi"), `{"name":"@pulumi/pulumi","version":"3.276.0"}`)
	writePackage(t, filepath.Join(nm, "@pulumi", "kubernetes"),
		`{"name":"@pulumi/kubernetes","version":"4.25.0","pulumi":{"resource":true,"name":"kubernetes"}}`)
	// The same plugin again, nested under another package: reported once.
	writePackage(t, filepath.Join(nm, "component", "node_modules", "@pulumi", "kubernetes"),
		`{"name":"@pulumi/kubernetes","version":"4.25.0","pulumi":{"resource":true}}`)
	// A different version of a plugin, nested: reported too, the engine loads both.
	writePackage(t, filepath.Join(nm, "component", "node_modules", "@pulumi", "random"),
		`{"name":"@pulumi/random","version":"4.18.0","pulumi":{"resource":true}}`)
	writePackage(t, filepath.Join(nm, "component"), `{"name":"component","version":"1.0.0"}`)
	// A third-party package naming its plugin, version and download server.
	writePackage(t, filepath.Join(nm, "@acme", "widgets"),
		`{"name":"@acme/widgets","version":"0.1.0","pulumi":{"resource":true,"name":"widgets","version":"v2.0.0","server":"https://example.test/plugins"}}`)
	// A package linked from outside node_modules (npm link / workspaces).
	linked := filepath.Join(t.TempDir(), "linked")
	writePackage(t, linked, `{"name":"@pulumi/random","version":"4.21.2","pulumi":{"resource":true}}`)
	if err := os.Symlink(linked, filepath.Join(nm, "@pulumi", "random")); err != nil {
		t.Fatal(err)
	}
	// A symlink cycle must not loop.
	if err := os.Symlink(nm, filepath.Join(linked, "node_modules")); err != nil {
		t.Fatal(err)
	}
	// npm's bookkeeping and stray files are not packages.
	writePackage(t, filepath.Join(nm, ".bin"), `{"name":"not-a-package","pulumi":{"resource":true}}`)
	if err := os.WriteFile(filepath.Join(nm, ".package-lock.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	pkgs, err := installedPackages(program)
	if err != nil {
		t.Fatalf("installedPackages: %v", err)
	}
	plugins, err := requiredPlugins(pkgs)
	if err != nil {
		t.Fatalf("requiredPlugins: %v", err)
	}
	want := []pluginRef{
		{Name: "kubernetes", Version: "v4.25.0"},
		{Name: "random", Version: "v4.18.0"},
		{Name: "random", Version: "v4.21.2"},
		{Name: "widgets", Version: "v2.0.0", Server: "https://example.test/plugins"},
	}
	if !slices.Equal(plugins, want) {
		t.Errorf("plugins:\n got %v\nwant %v", plugins, want)
	}
}

func TestRequiredPluginsReportsBrokenPackagesButKeepsTheRest(t *testing.T) {
	program := t.TempDir()
	nm := filepath.Join(program, "node_modules")
	writePackage(t, filepath.Join(nm, "broken"), `{"name":`)
	writePackage(t, filepath.Join(nm, "@acme", "nameless"), `{"name":"@acme/nameless","version":"1.0.0","pulumi":{"resource":true}}`)
	writePackage(t, filepath.Join(nm, "@pulumi", "kubernetes"), `{"name":"@pulumi/kubernetes","version":"4.25.0","pulumi":{"resource":true}}`)

	pkgs, err := installedPackages(program)
	if err == nil {
		t.Error("installedPackages: want an error for the broken package.json")
	}
	plugins, err := requiredPlugins(pkgs)
	if err == nil {
		t.Error("requiredPlugins: want an error for the third-party package without pulumi.name")
	}
	if want := []pluginRef{{Name: "kubernetes", Version: "v4.25.0"}}; !slices.Equal(plugins, want) {
		t.Errorf("plugins: got %v, want %v", plugins, want)
	}
}

func TestInstalledPackagesWithoutNodeModules(t *testing.T) {
	pkgs, err := installedPackages(t.TempDir())
	if err != nil || len(pkgs) != 0 {
		t.Errorf("got %v, %v; want no packages and no error", pkgs, err)
	}
}

func TestFindModuleWalksUpLikeNode(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "node_modules", "@pulumi", "pulumi", "cmd", "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	program := filepath.Join(root, "stacks", "dev")
	if err := os.MkdirAll(program, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, ok := findModule(program, runModule); !ok || got != run {
		t.Errorf("findModule from a nested program: got %q, %v; want %q", got, ok, run)
	}
	if _, ok := findModule(t.TempDir(), runModule); ok {
		t.Error("findModule found a module where none is installed")
	}
}
