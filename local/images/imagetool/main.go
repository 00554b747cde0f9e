// imagetool assembles container images without Docker or a registry.
//
//	imagetool install --from STAGING --to ROOTFS PATH...
//	    copies PATHs (files, symlinks, directory trees) from an unpacked set of Debian packages into
//	    an image's root filesystem, together with every shared library the copied ELF files need
//	    (their interpreter and DT_NEEDED closure, resolved inside STAGING as the dynamic loader would).
//	imagetool archive --rootfs DIR --ref REF --out FILE [--user U] [--entrypoint JSON] [--cmd JSON]
//	    [--env K=V]... [--workdir DIR] [--label K=V]... [--port 8000/tcp]... [--owner UID:GID=PATH]...
//	    writes DIR as a one-layer docker-archive tarball (manifest.json, config JSON, layer tar) that
//	    `ctr -n k8s.io images import` loads under REF.
//
// Layers are reproducible: entries are sorted, times are zero, and every file is owned by root
// unless --owner says otherwise, whoever runs the build.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "install":
		err = installCommand(os.Args[2:])
	case "archive":
		err = archiveCommand(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagetool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: imagetool install --from STAGING --to ROOTFS PATH... | imagetool archive --rootfs DIR --ref REF --out FILE [options]")
	os.Exit(2)
}
