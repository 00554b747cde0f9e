package main

import (
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// The dynamic loader's default search path on Debian amd64 (no ld.so.cache in an image).
var libraryDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"}

func installCommand(args []string) error {
	flags := flag.NewFlagSet("install", flag.ContinueOnError)
	from := flags.String("from", "", "unpacked packages (staging root)")
	to := flags.String("to", "", "the image's root filesystem")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *from == "" || *to == "" || flags.NArg() == 0 {
		return errors.New("--from, --to and at least one PATH are required")
	}
	c := &copier{from: *from, to: *to, done: map[string]bool{}}
	for _, p := range flags.Args() {
		if err := c.copy(path.Clean("/" + p)); err != nil {
			return err
		}
	}
	return nil
}

// copier copies paths of one root into another, following symlinks and ELF dependencies so the
// copy runs on its own (inside a chroot or a container).
type copier struct {
	from, to string
	done     map[string]bool
}

// realpath resolves p inside the staging root as the kernel would after chroot, copying every
// symlink met on the way so the same path resolves in the image too.
func (c *copier) realpath(p string) (string, error) { return c.resolve(p, true) }

// resolve is realpath; copyLinks false only looks (to probe a library search path).
func (c *copier) resolve(p string, copyLinks bool) (string, error) {
	resolved := "/"
	rest := strings.Split(strings.Trim(p, "/"), "/")
	for hops := 0; len(rest) > 0; {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, name)
		info, err := os.Lstat(filepath.Join(c.from, next))
		if err != nil {
			return "", err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		if copyLinks {
			if err := c.copyLink(next); err != nil {
				return "", err
			}
		}
		target, err := os.Readlink(filepath.Join(c.from, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			resolved = "/"
		}
		rest = append(strings.Split(strings.Trim(target, "/"), "/"), rest...)
	}
	return resolved, nil
}

// copyLink copies a symlink met while resolving a path (e.g. /lib -> usr/lib), not its target:
// the part of the target that is needed is copied as the resolution goes on.
func (c *copier) copyLink(p string) error {
	dst := filepath.Join(c.to, p)
	if _, err := os.Lstat(dst); err == nil {
		return nil
	}
	dir, err := c.realpath(path.Dir(p))
	if err != nil {
		return err
	}
	if err := c.mkdirs(dir); err != nil {
		return err
	}
	target, err := os.Readlink(filepath.Join(c.from, p))
	if err != nil {
		return err
	}
	return os.Symlink(target, filepath.Join(c.to, dir, path.Base(p)))
}

// copy copies one path (a directory with everything under it) unless it was copied already.
func (c *copier) copy(p string) error {
	if c.done[p] {
		return nil
	}
	c.done[p] = true
	dir, err := c.realpath(path.Dir(p))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if err := c.mkdirs(dir); err != nil {
		return err
	}
	p = path.Join(dir, path.Base(p))
	c.done[p] = true
	src, dst := filepath.Join(c.from, p), filepath.Join(c.to, p)
	info, err := os.Lstat(src)
	if err != nil {
		return err
	}
	switch {
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		}
		if !path.IsAbs(target) {
			target = path.Join(dir, target)
		}
		if _, err := c.resolve(target, false); errors.Is(err, fs.ErrNotExist) {
			return nil // dangling in the packages too (e.g. zoneinfo/localtime -> /etc/localtime)
		}
		return c.copy(target)
	case info.IsDir():
		if err := os.MkdirAll(dst, info.Mode().Perm()); err != nil {
			return err
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := c.copy(path.Join(p, e.Name())); err != nil {
				return err
			}
		}
		return nil
	case info.Mode().IsRegular():
		if err := copyFile(src, dst, info.Mode()); err != nil {
			return err
		}
		return c.copyLibraries(p)
	default:
		return fmt.Errorf("%s: unsupported file type %s", p, info.Mode().Type())
	}
}

// mkdirs creates dir (already resolved, so free of symlinks) in the image with the staging modes.
func (c *copier) mkdirs(dir string) error {
	if dir == "/" {
		return nil
	}
	if err := c.mkdirs(path.Dir(dir)); err != nil {
		return err
	}
	info, err := os.Stat(filepath.Join(c.from, dir))
	if err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(c.to, dir), info.Mode().Perm()); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	// Keep setuid/setgid/sticky bits, which OpenFile's mode leaves out.
	return os.Chmod(dst, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
}

// copyLibraries copies the interpreter and the shared libraries an ELF file needs; other files are
// left alone. A library that cannot be found is an error: the image would not start.
func (c *copier) copyLibraries(p string) error {
	f, err := elf.Open(filepath.Join(c.from, p))
	if err != nil {
		return nil // not an ELF file
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			interp, err := io.ReadAll(prog.Open())
			if err != nil {
				return err
			}
			if err := c.copy(strings.TrimRight(string(interp), "\x00")); err != nil {
				return fmt.Errorf("%s: interpreter: %w", p, err)
			}
		}
	}
	needed, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		values, _ := f.DynString(tag)
		for _, v := range values {
			for _, d := range strings.Split(v, ":") {
				dirs = append(dirs, strings.ReplaceAll(d, "$ORIGIN", path.Dir(p)))
			}
		}
	}
	dirs = append(dirs, libraryDirs...)
	for _, lib := range needed {
		found := false
		for _, d := range dirs {
			candidate := path.Join(d, lib)
			real, err := c.resolve(candidate, false)
			if err != nil {
				continue
			}
			if info, err := os.Lstat(filepath.Join(c.from, real)); err != nil || !info.Mode().IsRegular() {
				continue
			}
			if err := c.copy(candidate); err != nil {
				return err
			}
			found = true
			break
		}
		if !found {
			return fmt.Errorf("%s needs %s, which no unpacked package provides (searched %s)", p, lib, strings.Join(dirs, ", "))
		}
	}
	return nil
}
