// Command nightjar-sensor is the Nightjar sensor daemon on its own: a
// small static binary (pure Go, CGO_ENABLED=0) for the machines that sit
// in other people's networks. `nightjar sensor` is the same program.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nightjar-telescope/nightjar/internal/sensor/sensorcli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := sensorcli.New("nightjar-sensor", version)
	cmd.Version = version
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "nightjar-sensor: %v\n", err)
		os.Exit(1)
	}
}
