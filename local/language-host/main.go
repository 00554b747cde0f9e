// Command pulumi-language-nodejs is the Pulumi engine's language host for Node.js programs:
// the engine starts it, reads the port it prints, and asks it over gRPC which provider
// plugins the program needs and to run the program, a policy pack or `npm install`.
//
// It does what the upstream host of the same name does for this project's needs, by starting
// node on the entry points that @pulumi/pulumi ships (cmd/run, cmd/run-policy-pack). The
// upstream host is not available from the Go module proxy, so this one stands in for it.
// Install it next to the `pulumi` binary, where the engine looks for language hosts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// version is reported to the engine as the plugin's version; the build stamps PULUMI_VERSION.
var version = "3.276.0"

func main() {
	// The engine passes `[--logtostderr] [-v=N] [--tracing URL] <engine address>`; the logging
	// flags are registered by the sdk's logging package.
	tracing := flag.String("tracing", "", "Zipkin-compatible endpoint to send tracing data to")
	showVersion := flag.Bool("version", false, "print the plugin version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	logging.InitLogging(false, 0, false)
	engineAddress := flag.Arg(0)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if engineAddress != "" {
		// Exit when the engine is gone rather than linger as an orphan.
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start the engine health check: %w", err))
		}
	}
	cancel := make(chan bool)
	go func() {
		<-ctx.Done()
		close(cancel)
	}()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, newNodeHost(engineAddress, *tracing))
			return nil
		},
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's gRPC server: %w", err))
	}
	// The engine reads this first line of stdout to learn where to connect.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host stopped serving: %w", err))
	}
}
