// Package sensorcli is the command line of the sensor daemon, shared by
// the small static nightjar-sensor binary and `nightjar sensor`.
package sensorcli

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/sensor"
)

// New returns the sensor command; use is its name ("nightjar-sensor" or
// "sensor").
func New(use, version string) *cobra.Command {
	var (
		config                string
		check, example, debug bool
	)
	cmd := &cobra.Command{
		Use:   use + " --config FILE",
		Short: "Run a sensor: capture darknet packets and send them to the collector",
		Long: `Captures the packets arriving at the darknet addresses listed in the
configuration (AF_PACKET on --config's interface, promiscuous, passive: it
never sends a packet there), decodes and fingerprints them, and sends them
in batches to the collector over mutual TLS.

Each batch is written to the spool directory before it is sent and deleted
only when the collector acknowledges it: a broken link, a collector restart
or a sensor restart loses nothing (unacknowledged batches are sent again and
the collector counts them once). When the spool reaches its size limit, the
oldest batches are dropped and counted in the health report.

--example-config prints a commented configuration with every key; --check
validates a configuration, its certificate and its spool, and exits.
Prometheus metrics are served on 127.0.0.1:9470 by default. Stop with
Ctrl-C or SIGTERM: open batches are closed into the spool and sent for up
to 5 seconds.`,
		Example: `  ` + use + ` --example-config > sensor.yaml
  ` + use + ` --check --config sensor.yaml
  ` + use + ` --config sensor.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if example {
				fmt.Fprint(cmd.OutOrStdout(), sensor.ExampleConfig)
				return nil
			}
			if config == "" {
				return errors.New("--config FILE is required (--example-config prints one to start from)")
			}
			cfg, err := sensor.LoadConfig(config)
			if err != nil {
				return err
			}
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level})).With("sensor", cfg.Name)
			s, err := sensor.New(cfg, sensor.Options{Logger: logger, Version: version})
			if err != nil {
				return err
			}
			if check {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration, certificate and spool are usable\n", config)
				return s.Close()
			}
			return s.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&config, "config", "c", "", "configuration file (YAML)")
	f.BoolVar(&check, "check", false, "check the configuration and exit")
	f.BoolVar(&example, "example-config", false, "print a commented example configuration and exit")
	f.BoolVarP(&debug, "verbose", "v", false, "log debug messages")
	return cmd
}
