package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// Image is what a docker-archive's config JSON says about the image (the OCI image config).
type Image struct {
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	Created      string   `json:"created"`
	Config       Config   `json:"config"`
	RootFS       RootFS   `json:"rootfs"`
	History      []Record `json:"history"`
}

type Config struct {
	User         string              `json:"User,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
}

type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type Record struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

// ManifestEntry is one image of a docker-archive's manifest.json.
type ManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// epoch is every timestamp in the image, so the same inputs give the same bytes.
const epoch = "1970-01-01T00:00:00Z"

func archiveCommand(args []string) error {
	flags := flag.NewFlagSet("archive", flag.ContinueOnError)
	rootfs := flags.String("rootfs", "", "the image's root filesystem")
	ref := flags.String("ref", "", "image reference (registry/name:tag)")
	out := flags.String("out", "", "docker-archive tarball to write")
	user := flags.String("user", "", "user[:group] the image runs as")
	entrypoint := flags.String("entrypoint", "", "entrypoint, a JSON array")
	cmd := flags.String("cmd", "", "command, a JSON array")
	workdir := flags.String("workdir", "", "working directory")
	var env, labels, ports, owners listFlag
	flags.Var(&env, "env", "K=V environment variable (repeatable)")
	flags.Var(&labels, "label", "K=V label (repeatable)")
	flags.Var(&ports, "port", "exposed port, e.g. 8000/tcp (repeatable)")
	flags.Var(&owners, "owner", "UID:GID=PATH: PATH and everything under it belong to UID:GID (repeatable; default root)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *rootfs == "" || *ref == "" || *out == "" {
		return errors.New("--rootfs, --ref and --out are required")
	}
	cfg := Config{User: *user, Env: env, WorkingDir: *workdir}
	for _, a := range []struct {
		text string
		into *[]string
	}{{*entrypoint, &cfg.Entrypoint}, {*cmd, &cfg.Cmd}} {
		if a.text != "" {
			if err := json.Unmarshal([]byte(a.text), a.into); err != nil {
				return fmt.Errorf("%q is not a JSON array of strings: %w", a.text, err)
			}
		}
	}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("label %q: expected K=V", l)
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels[k] = v
	}
	for _, p := range ports {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	ownership, err := parseOwners(owners)
	if err != nil {
		return err
	}
	return writeArchive(*rootfs, *ref, *out, cfg, ownership)
}

type owner struct {
	path     string
	uid, gid int
}

func parseOwners(specs []string) ([]owner, error) {
	var result []owner
	for _, s := range specs {
		ids, p, ok := strings.Cut(s, "=")
		u, g, ok2 := strings.Cut(ids, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(g)
		if !ok || !ok2 || err1 != nil || err2 != nil || !path.IsAbs(p) {
			return nil, fmt.Errorf("owner %q: expected UID:GID=/absolute/path", s)
		}
		result = append(result, owner{path.Clean(p), uid, gid})
	}
	// The longest (most specific) path wins.
	sort.Slice(result, func(i, j int) bool { return len(result[i].path) > len(result[j].path) })
	return result, nil
}

func ownerOf(p string, owners []owner) (int, int) {
	for _, o := range owners {
		if p == o.path || strings.HasPrefix(p, o.path+"/") {
			return o.uid, o.gid
		}
	}
	return 0, 0
}

// writeArchive writes rootfs as one layer plus its config and manifest, into out (atomically).
func writeArchive(rootfs, ref, out string, cfg Config, owners []owner) error {
	tmp := out + ".tmp"
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	layerFile, err := os.CreateTemp(filepath.Dir(out), ".layer-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(layerFile.Name())
	defer layerFile.Close()
	digest := sha256.New()
	if err := writeLayer(io.MultiWriter(layerFile, digest), rootfs, owners); err != nil {
		return err
	}
	diffID := hex.EncodeToString(digest.Sum(nil))
	size, err := layerFile.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := layerFile.Seek(0, io.SeekStart); err != nil {
		return err
	}

	image := Image{
		Architecture: "amd64", OS: "linux", Created: epoch, Config: cfg,
		RootFS:  RootFS{Type: "layers", DiffIDs: []string{"sha256:" + diffID}},
		History: []Record{{Created: epoch, CreatedBy: "imagetool archive (local/images)"}},
	}
	config, err := json.Marshal(image)
	if err != nil {
		return err
	}
	configName := sha256hex(config) + ".json"
	manifest, err := json.Marshal([]ManifestEntry{{Config: configName, RepoTags: []string{ref}, Layers: []string{diffID + "/layer.tar"}}})
	if err != nil {
		return err
	}

	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	tw := tar.NewWriter(f)
	mtime := time.Unix(0, 0)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: diffID + "/", Mode: 0o755, ModTime: mtime}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: diffID + "/layer.tar", Mode: 0o644, Size: size, ModTime: mtime}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, layerFile); err != nil {
		return err
	}
	for _, file := range []struct {
		name string
		data []byte
	}{{configName, config}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: file.name, Mode: 0o644, Size: int64(len(file.data)), ModTime: mtime}); err != nil {
			return err
		}
		if _, err := tw.Write(file.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func sha256hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeLayer writes the tree under rootfs as a layer tar: sorted, times zeroed, hard links kept.
func writeLayer(w io.Writer, rootfs string, owners []owner) error {
	tw := tar.NewWriter(w)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	mtime := time.Unix(0, 0)
	err := filepath.WalkDir(rootfs, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(rootfs, file)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		uid, gid := ownerOf("/"+name, owners)
		hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), Uid: uid, Gid: gid, ModTime: mtime, Format: tar.FormatPAX}
		if info.Mode()&fs.ModeSetuid != 0 {
			hdr.Mode |= 0o4000
		}
		if info.Mode()&fs.ModeSetgid != 0 {
			hdr.Mode |= 0o2000
		}
		if info.Mode()&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		var content string
		switch {
		case info.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		case info.Mode()&fs.ModeSymlink != 0:
			hdr.Typeflag = tar.TypeSymlink
			if hdr.Linkname, err = os.Readlink(file); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				key := inode{uint64(st.Dev), st.Ino}
				if first, ok := seen[key]; ok {
					hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				} else {
					seen[key] = name
				}
			}
			if hdr.Typeflag == tar.TypeReg {
				content = file
			}
		default:
			return fmt.Errorf("%s: unsupported file type %s", file, info.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if content == "" {
			return nil
		}
		f, err := os.Open(content)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
