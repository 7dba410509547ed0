package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/enrich"
	"github.com/nightjar-telescope/nightjar/internal/origins"
	"github.com/nightjar-telescope/nightjar/internal/pipeline"
	"github.com/nightjar-telescope/nightjar/internal/scanners"
)

// enrichOptions are the databases and lists the enrich stage reads: the
// GeoIP/ASN .mmdb files and the research-scanner lists, for `collector`,
// `ingest` and `demo`.
type enrichOptions struct {
	// GeoIP are .mmdb files (GeoLite2/GeoIP2 Country, City or ASN, DB-IP
	// Lite, IPinfo Lite), at most four; each field comes from the first
	// that knows it.
	GeoIP []string `yaml:"geoip"`
	// ScannerLists are research-scanner lists: a MISP warninglist (.json,
	// labelled by its file name), a text list of addresses and networks
	// (LABEL=PATH, or PATH for the label of its file name), or a
	// directory of them (every .json and .txt in it).
	ScannerLists []string `yaml:"scanner_lists"`
	// ReloadInterval is how often a daemon checks those files for a
	// change (a weekly GeoLite2 update, an edited list) and reloads them.
	ReloadInterval time.Duration `yaml:"reload_interval"`
}

// defaultReloadInterval is enrichOptions.ReloadInterval's default.
const defaultReloadInterval = 30 * time.Second

func (o *enrichOptions) addFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.GeoIP, "geoip", o.GeoIP, "GeoIP/ASN `FILE` (.mmdb: GeoLite2/GeoIP2 Country, City, ASN, DB-IP, IPinfo Lite); repeat for several; the source's country and network are stored with each packet")
	f.StringArrayVar(&o.ScannerLists, "scanner-list", o.ScannerLists, "research-scanner list: a MISP warninglist .json, `[LABEL=]PATH` of a text list (one address or network per line), or a directory of them; repeat for several")
}

// scannerSources returns the lists of the options: files, LABEL=PATH, and
// the .json and .txt files of directories.
func (o enrichOptions) scannerSources() ([]scanners.Source, error) {
	var out []scanners.Source
	for _, spec := range o.ScannerLists {
		label, path, ok := strings.Cut(spec, "=")
		if !ok || strings.ContainsAny(label, `/\`) {
			label, path = "", spec
		}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("scanner list: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, scanners.Source{Path: path, Label: labelOrName(label, path)})
			continue
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("scanner list: %w", err)
		}
		n := len(out)
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".json" || ext == ".txt") {
				p := filepath.Join(path, e.Name())
				out = append(out, scanners.Source{Path: p, Label: labelOrName("", p)})
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("scanner list: directory %s holds no .json or .txt list", path)
		}
	}
	return out, nil
}

// labelOrName is label, or the file's name without its extension.
func labelOrName(label, path string) string {
	if label != "" {
		return label
	}
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// enrichment is the enrich stage's open databases and lists.
type enrichment struct {
	sources enrich.Sources
	stats   enrich.Stats
}

// open opens the databases and lists (nil when none is configured). When
// logger is not nil, they are watched until ctx ends: a changed file is
// reloaded (checked every ReloadInterval), and the reload or its failure
// logged.
func (o enrichOptions) open(ctx context.Context, logger *slog.Logger) (*enrichment, error) {
	if len(o.GeoIP) == 0 && len(o.ScannerLists) == 0 {
		return nil, nil
	}
	e := &enrichment{}
	if len(o.GeoIP) > 0 {
		w, err := origins.Watch(o.GeoIP...)
		if err != nil {
			return nil, err
		}
		e.sources.Origins = w
	}
	if len(o.ScannerLists) > 0 {
		srcs, err := o.scannerSources()
		if err == nil {
			e.sources.Scanners, err = scanners.Watch(srcs...)
		}
		if err != nil {
			e.close()
			return nil, err
		}
	}
	if logger != nil {
		e.watch(ctx, logger, o.ReloadInterval)
	}
	return e, nil
}

func (e *enrichment) watch(ctx context.Context, logger *slog.Logger, reloadInterval time.Duration) {
	if reloadInterval <= 0 {
		reloadInterval = defaultReloadInterval
	}
	if w := e.sources.Origins; w != nil {
		go w.Run(ctx, reloadInterval, func(dbs []origins.Database, err error) {
			if err != nil {
				logger.Warn("GeoIP/ASN databases not reloaded", "err", err)
				return
			}
			for _, db := range dbs {
				logger.Info("GeoIP/ASN database reloaded", "path", db.Path, "type", db.Type, "built", db.Built)
			}
		})
	}
	if w := e.sources.Scanners; w != nil {
		go w.Run(ctx, reloadInterval, func(reloaded bool, err error) {
			if err != nil {
				logger.Warn("scanner lists not reloaded", "err", err)
				return
			}
			logger.Info("scanner lists reloaded", "lists", len(w.Current().Lists()))
		})
	}
}

// enrichers returns the enrich stage of one pipeline, with a cache of
// cacheSources (none when nothing is configured).
func (e *enrichment) enrichers(cacheSources int) []pipeline.Enricher {
	if e == nil {
		return nil
	}
	return []pipeline.Enricher{enrich.New(e.sources, cacheSources, &e.stats)}
}

// describe says what the stage reads, for a start-up line.
func (e *enrichment) describe() string {
	if e == nil {
		return "no GeoIP/ASN database or scanner list (--geoip, --scanner-list): sources have no country, network or label"
	}
	var parts []string
	if w := e.sources.Origins; w != nil {
		for _, db := range w.Databases() {
			parts = append(parts, fmt.Sprintf("%s (%s, built %s)", db.Path, db.Type, db.Built.Format(time.DateOnly)))
		}
	}
	if w := e.sources.Scanners; w != nil {
		var labels []string
		for _, l := range w.Current().Lists() {
			if !slices.Contains(labels, l.Label) {
				labels = append(labels, l.Label)
			}
		}
		parts = append(parts, fmt.Sprintf("%d scanner lists (%s)", len(w.Current().Lists()), strings.Join(labels, ", ")))
	}
	return "enriching with " + strings.Join(parts, "; ")
}

// close closes the databases; the watchers stop with their context.
func (e *enrichment) close() error {
	if e == nil || e.sources.Origins == nil {
		return nil
	}
	return e.sources.Origins.Close()
}

// errs reports the sources whose records could not be read, if any.
func (e *enrichment) errs() error {
	if e == nil {
		return nil
	}
	if n := e.stats.Errors.Load(); n > 0 {
		last := ""
		if p := e.stats.LastError.Load(); p != nil {
			last = *p
		}
		return fmt.Errorf("%d sources could not be looked up in the GeoIP/ASN databases and have no country or network (last: %s)", n, last)
	}
	return nil
}

// enrichComponent is the enrich stage's databases and lists, watched for
// changes while it runs (lifecycle.Component).
type enrichComponent struct {
	opts enrichOptions
	log  *slog.Logger

	e    *enrichment
	stop context.CancelFunc
}

func (c *enrichComponent) Start(ctx context.Context) error {
	watch, stop := context.WithCancel(context.WithoutCancel(ctx))
	e, err := c.opts.open(watch, c.log)
	if err != nil {
		stop()
		return err
	}
	c.e, c.stop = e, stop
	c.log.Info(e.describe())
	return nil
}

func (c *enrichComponent) Stop() error {
	c.stop()
	return c.e.close()
}

// streamCacheSources is the per-source cache of one sensor stream's
// enrich stage: 4,096 sources, 192 KiB.
const streamCacheSources = 1 << 12

// enrichers returns the enrich stage of one collector stream, or nil
// when nothing is configured.
func (c *enrichComponent) enrichers() []pipeline.Enricher { return c.e.enrichers(streamCacheSources) }
