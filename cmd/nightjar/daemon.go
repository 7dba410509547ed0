package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/config"
)

// daemonFlags are the flags every daemon (collector, serve, demo) has
// besides those of its settings: where its configuration comes from, and
// --check and --dump.
type daemonFlags struct {
	file        string
	check, dump bool
}

func (d *daemonFlags) add(f *pflag.FlagSet, command string) {
	f.StringVar(&d.file, "config", "", "YAML `FILE` of settings (keys as --dump prints them; unknown keys are errors); NIGHTJAR_"+strings.ToUpper(command)+"_<KEY> variables override it, flags override both")
	f.BoolVar(&d.check, "check", false, "check the configuration (files, addresses, the registry) and exit")
	f.BoolVar(&d.dump, "dump", false, "print the effective configuration as YAML and exit")
}

// resolve layers the daemon's configuration into cfg: defaults, the file,
// NIGHTJAR_<COMMAND>_* variables, then the flags given.
func (d *daemonFlags) resolve(cmd *cobra.Command, cfg, defaults any) error {
	l := config.Layers{File: d.file, EnvPrefix: "NIGHTJAR_" + strings.ToUpper(cmd.Name()) + "_", Flags: cmd.Flags()}
	return l.Resolve(cfg, defaults)
}

// printDump writes cfg as YAML on the command's standard output.
func printDump(cmd *cobra.Command, cfg any) error {
	out, err := config.Dump(cfg)
	if err != nil {
		return err
	}
	_, err = cmd.OutOrStdout().Write(out)
	return err
}

// logLevel is a daemon's log_level setting: debug, info, warn or error.
type logLevel string

func (l logLevel) parse() (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l)); err != nil || strings.ContainsAny(string(l), "+-") {
		return 0, fmt.Errorf("log_level %q: want debug, info, warn or error", string(l))
	}
	return level, nil
}

// logger returns the daemon's text logger on standard error.
func (l logLevel) logger(cmd *cobra.Command) (*slog.Logger, error) {
	return l.loggerTo(cmd.ErrOrStderr())
}

// loggerTo returns a text logger of the level on w.
func (l logLevel) loggerTo(w io.Writer) (*slog.Logger, error) {
	level, err := l.parse()
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// verboseFlag is -v: log_level debug. It prints as true when the level is
// debug, so that the configuration's layers keep it.
type verboseFlag struct{ level *logLevel }

func (v verboseFlag) String() string {
	return strconv.FormatBool(v.level != nil && *v.level == "debug")
}
func (v verboseFlag) Type() string     { return "bool" }
func (v verboseFlag) IsBoolFlag() bool { return true }
func (v verboseFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if on {
		*v.level = "debug"
	}
	return nil
}

func addVerbose(f *pflag.FlagSet, level *logLevel) {
	f.VarPF(verboseFlag{level}, "verbose", "v", "log debug messages (log_level: debug)").NoOptDefVal = "true"
}

// settings is a daemon's configuration: it checks itself before anything
// opens.
type settings interface{ check() error }

// runDaemon layers the configuration into cfg, then prints it (--dump),
// or checks it and either verifies what it names (--check) or runs.
func runDaemon[C settings](cmd *cobra.Command, d *daemonFlags, cfg *C, defaults C, verify, run func(C) error) error {
	if err := d.resolve(cmd, cfg, defaults); err != nil {
		return err
	}
	if d.dump {
		return printDump(cmd, *cfg)
	}
	if err := (*cfg).check(); err != nil {
		return err
	}
	if d.check {
		return verify(*cfg)
	}
	return run(*cfg)
}
