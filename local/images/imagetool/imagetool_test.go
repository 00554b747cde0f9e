package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readArchive returns the files of a docker-archive tarball and of its (single) layer.
func readArchive(t *testing.T, file string) (map[string][]byte, map[string]*tar.Header) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name] = b
	}
	var manifest []ManifestEntry
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil || len(manifest) != 1 || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest.json: %s (%v)", files["manifest.json"], err)
	}
	layer := map[string]*tar.Header{}
	lr := tar.NewReader(bytes.NewReader(files[manifest[0].Layers[0]]))
	for {
		hdr, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		layer[hdr.Name] = hdr
	}
	return files, layer
}

func TestArchive(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "app/data"), 0o755))
	must(os.WriteFile(filepath.Join(root, "app/bot"), []byte("binary"), 0o755))
	must(os.Link(filepath.Join(root, "app/bot"), filepath.Join(root, "app/bot-link")))
	must(os.Symlink("bot", filepath.Join(root, "app/alias")))
	out := filepath.Join(t.TempDir(), "image.tar")
	args := []string{"--rootfs", root, "--ref", "trading-bot.local/x:1", "--out", out, "--user", "1000:1000",
		"--entrypoint", `["/app/bot"]`, "--env", "A=b", "--owner", "1000:1000=/app/data"}
	must(archiveCommand(args))

	files, layer := readArchive(t, out)
	var manifest []ManifestEntry
	must(json.Unmarshal(files["manifest.json"], &manifest))
	if got := manifest[0].RepoTags; len(got) != 1 || got[0] != "trading-bot.local/x:1" {
		t.Errorf("RepoTags = %v", got)
	}
	config := files[manifest[0].Config]
	if sum := sha256.Sum256(config); manifest[0].Config != hex.EncodeToString(sum[:])+".json" {
		t.Errorf("config file name %s is not its digest", manifest[0].Config)
	}
	var image Image
	must(json.Unmarshal(config, &image))
	layerSum := sha256.Sum256(files[manifest[0].Layers[0]])
	if want := "sha256:" + hex.EncodeToString(layerSum[:]); len(image.RootFS.DiffIDs) != 1 || image.RootFS.DiffIDs[0] != want {
		t.Errorf("diff_ids %v, layer digest %s", image.RootFS.DiffIDs, want)
	}
	if image.Config.User != "1000:1000" || strings.Join(image.Config.Entrypoint, " ") != "/app/bot" || strings.Join(image.Config.Env, " ") != "A=b" {
		t.Errorf("config %+v", image.Config)
	}

	if h := layer["app/data/"]; h == nil || h.Uid != 1000 || h.Gid != 1000 || h.Typeflag != tar.TypeDir {
		t.Errorf("app/data/: %+v, want a directory owned by 1000:1000", h)
	}
	if h := layer["app/bot"]; h == nil || h.Uid != 0 || h.Mode&0o777 != 0o755 || h.Size != 6 {
		t.Errorf("app/bot: %+v, want root's 0755 file of 6 bytes", h)
	}
	if h := layer["app/bot-link"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "app/bot" {
		t.Errorf("app/bot-link: %+v, want a hard link to app/bot", h)
	}
	if h := layer["app/alias"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "bot" {
		t.Errorf("app/alias: %+v, want a symlink to bot", h)
	}

	// Same inputs, same bytes (so an unchanged image imports as the same digest).
	again := filepath.Join(t.TempDir(), "image.tar")
	args[5] = again
	must(archiveCommand(args))
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two archives of the same tree differ")
	}
}

// install copies a dynamically linked program with its loader and libraries, so it runs chrooted.
func TestInstallCopiesLibraries(t *testing.T) {
	if _, err := os.Stat("/usr/bin/true"); err != nil {
		t.Skip("no /usr/bin/true on this machine")
	}
	to := t.TempDir()
	if err := installCommand([]string{"--from", "/", "--to", to, "/usr/bin/true"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"usr/bin/true", "lib64/ld-linux-x86-64.so.2"} {
		if _, err := os.Stat(filepath.Join(to, p)); err != nil {
			t.Errorf("%s not installed: %v", p, err)
		}
	}
	libc, _ := filepath.Glob(filepath.Join(to, "*/x86_64-linux-gnu/libc.so.6"))
	libc2, _ := filepath.Glob(filepath.Join(to, "usr/*/x86_64-linux-gnu/libc.so.6"))
	if len(libc)+len(libc2) == 0 {
		t.Error("libc.so.6 not installed")
	}
	if os.Geteuid() != 0 {
		t.Log("not root: skipping the chroot run")
		return
	}
	if out, err := exec.Command("chroot", to, "/usr/bin/true").CombinedOutput(); err != nil {
		t.Errorf("chroot %s /usr/bin/true: %v: %s", to, err, out)
	}
}

func TestInstallFailsOnMissingLibrary(t *testing.T) {
	from := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(from, "usr/bin"), 0o755))
	elf, err := os.ReadFile("/usr/bin/true")
	if err != nil {
		t.Skip("no /usr/bin/true on this machine")
	}
	must(os.WriteFile(filepath.Join(from, "usr/bin/true"), elf, 0o755))
	err = installCommand([]string{"--from", from, "--to", t.TempDir(), "/usr/bin/true"})
	if err == nil || !strings.Contains(err.Error(), "ld-linux") && !strings.Contains(err.Error(), "libc.so.6") {
		t.Errorf("got %v, want an error naming the missing loader or libc", err)
	}
}
