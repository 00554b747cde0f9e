// apiserver-proxy forwards TCP connections from -listen to -target. The API server listens on
// loopback only, but the `kubernetes` Service's endpoint (its advertise address) must not be
// loopback; this proxy listens on that address, on the real node, so pods reach the API server
// through the Service as on any cluster (TLS passes through untouched).
package main

import (
	"flag"
	"io"
	"log"
	"net"
)

func main() {
	listen := flag.String("listen", "", "address to accept connections on (host:port)")
	target := flag.String("target", "", "address to forward them to (host:port)")
	flag.Parse()
	if *listen == "" || *target == "" {
		log.Fatal("usage: apiserver-proxy -listen host:port -target host:port")
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("forwarding %s to %s", *listen, *target)
	for {
		in, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go forward(in, *target)
	}
}

func forward(in net.Conn, target string) {
	defer in.Close()
	out, err := net.Dial("tcp", target)
	if err != nil {
		log.Printf("dial %s: %v", target, err)
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(in, out); in.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	<-done
	<-done
}
