package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// nodePackage is the part of an installed package's package.json that the engine cares about.
type nodePackage struct {
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Pulumi  *pulumiPlugin `json:"pulumi"`
}

// pulumiPlugin is the `pulumi` field a Pulumi SDK package (e.g. @pulumi/kubernetes) sets to
// tell the engine which provider plugin it drives.
type pulumiPlugin struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

// pluginRef is one provider plugin the program needs.
type pluginRef struct {
	Name    string
	Version string // always "v"-prefixed, as the engine expects
	Server  string // download URL; empty means Pulumi's default
}

// installedPackages returns every package installed under dir/node_modules, including scoped
// packages (@scope/name) and packages in nested node_modules. Symlinked packages (npm link,
// workspaces, file: dependencies) are followed, each physical directory at most once, so a
// symlink cycle cannot loop. A package.json that cannot be read is reported in the error,
// which does not stop the walk: one broken package must not hide the others.
func installedPackages(dir string) ([]nodePackage, error) {
	w := walker{seen: map[string]bool{}}
	w.walkNodeModules(filepath.Join(dir, "node_modules"))
	return w.packages, errors.Join(w.errs...)
}

type walker struct {
	seen     map[string]bool
	packages []nodePackage
	errs     []error
}

func (w *walker) walkNodeModules(nodeModules string) {
	entries, err := os.ReadDir(nodeModules)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.errs = append(w.errs, err)
		}
		return
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "."):
			// .bin, .package-lock.json, .cache: npm's bookkeeping, not packages.
		case strings.HasPrefix(name, "@"):
			scoped, err := os.ReadDir(filepath.Join(nodeModules, name))
			if err != nil {
				w.errs = append(w.errs, err)
				continue
			}
			for _, s := range scoped {
				w.visitPackage(filepath.Join(nodeModules, name, s.Name()))
			}
		default:
			w.visitPackage(filepath.Join(nodeModules, name))
		}
	}
}

func (w *walker) visitPackage(dir string) {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	if w.seen[real] {
		return
	}
	w.seen[real] = true

	data, err := os.ReadFile(filepath.Join(real, "package.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return // a stray file or a directory that is not a package
	case err != nil:
		w.errs = append(w.errs, err)
		return
	}
	var pkg nodePackage
	if err := json.Unmarshal(data, &pkg); err != nil {
		w.errs = append(w.errs, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err))
		return
	}
	w.packages = append(w.packages, pkg)
	w.walkNodeModules(filepath.Join(real, "node_modules"))
}

// requiredPlugins picks the provider plugins out of the installed packages, deduplicated and
// sorted so the engine sees a stable list. Packages whose plugin cannot be named are skipped
// and reported in the error.
func requiredPlugins(pkgs []nodePackage) ([]pluginRef, error) {
	seen := map[pluginRef]bool{}
	var plugins []pluginRef
	var errs []error
	for _, pkg := range pkgs {
		if pkg.Pulumi == nil || !pkg.Pulumi.Resource {
			continue
		}
		ref, err := pluginOf(pkg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !seen[ref] {
			seen[ref] = true
			plugins = append(plugins, ref)
		}
	}
	slices.SortFunc(plugins, func(a, b pluginRef) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Server, b.Server))
	})
	return plugins, errors.Join(errs...)
}

// pluginOf names the plugin of a package with `pulumi.resource: true`, the way upstream does:
// the `pulumi` field wins; otherwise @pulumi/<name> maps to <name> and the package version is
// the plugin version. Third-party scoped packages must name their plugin explicitly.
func pluginOf(pkg nodePackage) (pluginRef, error) {
	name := pkg.Pulumi.Name
	if name == "" {
		var ok bool
		if name, ok = strings.CutPrefix(pkg.Name, "@pulumi/"); !ok {
			return pluginRef{}, fmt.Errorf("package %q has pulumi.resource=true but no pulumi.name", pkg.Name)
		}
	}
	version := cmp.Or(pkg.Pulumi.Version, pkg.Version)
	if version == "" {
		return pluginRef{}, fmt.Errorf("package %q has no version for its plugin %q", pkg.Name, name)
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	return pluginRef{Name: name, Version: version, Server: pkg.Pulumi.Server}, nil
}

// findModule resolves a path inside a package the way Node's require does for a bare
// specifier: in dir/node_modules, then in each parent's node_modules. This also finds an SDK
// hoisted to a workspace root.
func findModule(dir, module string) (string, bool) {
	for {
		candidate := filepath.Join(dir, "node_modules", filepath.FromSlash(module))
		if _, err := os.Stat(candidate); err == nil {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
