// Command nightjar is the main Nightjar binary: it simulates darknet
// traffic, analyses and imports capture files, answers questions from the
// store, runs the collector and its certificate authority, and runs a
// sensor (as the smaller nightjar-sensor binary does).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/clock"
	"github.com/nightjar-telescope/nightjar/internal/sensor/sensorcli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Commands stop on the first signal; a second one, should a command
	// be stuck where it cannot see the first (a read of a terminal),
	// kills the process.
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status. It takes its
// streams as arguments so that tests drive the real CLI in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root, g := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	err = errors.Join(err, g.stopProfile())
	if err != nil {
		fmt.Fprintf(stderr, "nightjar: %v\n", err)
		if code, ok := err.(exitCoder); ok {
			return code.ExitCode()
		}
		return 1
	}
	return 0
}

type exitCoder interface{ ExitCode() int }

// globalOptions are the flags of every command.
type globalOptions struct {
	nowFlag    string
	cpuProfile string
	profile    *os.File // the CPU profile being written
	// now is the clock every command runs on: the wall clock, or the
	// instant of --now (NIGHTJAR_NOW) advancing from there.
	now clock.Clock
}

// resolve reads --now, or NIGHTJAR_NOW when the flag is not given.
func (g *globalOptions) resolve(cmd *cobra.Command) error {
	s, from := g.nowFlag, "--now"
	if !cmd.Flags().Changed("now") {
		s, from = os.Getenv(clock.EnvVar), clock.EnvVar
	}
	c, err := clock.Parse(s)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	g.now = c
	if g.cpuProfile != "" {
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		g.profile = f
	}
	return nil
}

// stopProfile ends the CPU profile of --cpuprofile, if one is written.
func (g *globalOptions) stopProfile() error {
	if g.profile == nil {
		return nil
	}
	pprof.StopCPUProfile()
	err := g.profile.Close()
	g.profile = nil
	if err != nil {
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	return nil
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) (*cobra.Command, *globalOptions) {
	g := &globalOptions{now: clock.System}
	root := &cobra.Command{
		Use:   "nightjar",
		Short: "Nightjar: darknet (network telescope) monitoring",
		Long: `Nightjar watches unused IP addresses (a darknet, or network telescope) and
tells a monitoring team which ports are scanned, on which sensors, by whom
(Mirai, ZMap, Masscan, Nmap, backscatter...), and what changed.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.resolve(cmd)
		},
	}
	root.PersistentFlags().StringVar(&g.nowFlag, "now", "", "run as if it were this `INSTANT` (RFC 3339, e.g. 2027-01-01T00:01:00Z, or a date), the clock advancing from there: "+
		"default periods, \"today\", the demo's simulated fleet; certificates keep the real time (default $"+clock.EnvVar+", else the wall clock)")
	root.PersistentFlags().StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to `FILE` (for go tool pprof), e.g. of a slow ingest")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyzeCommand(), newSimulateCommand(g), newIngestCommand(), newQueryCommand(), newExportCommand(),
		newCACommand(), newCollectorCommand(g), newServeCommand(g), newUserCommand(), sensorcli.New("sensor", version), newDemoCommand(g), newReportCommand(g), newNotifyCommand(g), newDevicesCommand(g), newAlertsCommand(g))
	return root, g
}
