package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/report"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

func newReportCommand(g *globalOptions) *cobra.Command {
	var (
		db, out, lang, formats, font, chromium string
		per                                    periodOptions
		alert                                  int64
	)
	cmd := &cobra.Command{
		Use:   "report --db PATH ((--period P | --from D --to D) --out DIR | --alert ID [--out FILE]) [flags]",
		Short: "Write the report of a period (quarter), or the extra issue of an alert, as HTML, Markdown and PDF",
		Long: `Writes the report of a period — usually a quarter — from the embedded
database at --db into --out DIR, compared with the previous period of the
same kind (2024Q2 for 2024Q3):

  1. summary: sensors and groups, packets, packets per sensor per day,
     distinct sources, and the change from the previous period
  2. the fleet's top 5 ports by average packets per sensor, with their
     previous rank and change (new entries marked), and a chart
  3. a grouped bar chart of each group's monthly average packets per
     sensor, with its table
  4. the top 10 ports of every sensor, side by side
  5. ports in almost every sensor's top 10, and ports prominent at one
     sensor only (both defined in the report)
  6. Mirai-type activity: Mirai-fingerprinted packets and sources per port
  7. source countries and ASNs with their change, each group's countries,
     and the research scanners' share of packets and sources (said plainly
     when no GeoIP/ASN database or scanner list was given at ingest)
  8. the most active sources with their fingerprints, and device models
     (said plainly when no device attribution exists)

Files: report-LANG.html (one self-contained page: figures and style inline,
nothing fetched), report-LANG.md with its figures as report-LANG-figN-*.svg
and .png, and report-LANG.pdf, printed by headless Chromium. Without
Chromium the PDF is skipped with a message, and the command still succeeds.

--lang ja writes every heading, caption and sentence in Japanese. Its charts
need a Japanese font (Debian's fonts-ipafont-gothic, or --font FILE); without
one, the charts are labelled in English, with a warning.

--alert ID drafts instead the extra issue of one stored alert (see
nightjar alerts list), the write-up a team publishes when it sees an
unusual change:

  1. what changed: the detector, the observed value against its baseline
     at the peak hour, since when (first and last hour seen), the state
  2. where: every sensor and group, those of the alert and those that did
     not see it, with their packets to the port in the alert's hours and
     the detector's comparison at the peak hour
  3. a chart of the port (or the tag) per hour at the alert's sensors,
     from two days before the alert to a day after it, with the baseline
  4. the top sources of the alert's sensors in its hours with their
     packets to the port, fingerprints, countries and devices when known,
     the packets per fingerprint, the source countries and device models

It writes one file, --out FILE (default alert-ID-LANG.html in the current
directory); its extension chooses the format (.html, .md or .pdf) unless
--format gives one. A Markdown draft's figure is written beside it
(FILE-fig1-chart.svg and .png, after its name). Without Chromium, a PDF
draft fails, saying why. An unknown ID fails, naming it.`,
		Example: `  nightjar report --db telescope.duckdb --period 2024Q3 --out q3
  nightjar report --db telescope.duckdb --period 2024Q3 --out q3 --lang ja --format html,pdf
  nightjar report --db telescope.duckdb --from 2024-07-01 --to 2024-07-31 --out july --format md
  nightjar report --db telescope.duckdb --alert 42 --lang ja --out extra-42.pdf`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			if db == "" {
				return errors.New("--db PATH is required")
			}
			if cmd.Flags().Changed("alert") {
				if per != (periodOptions{}) {
					return errors.New("--alert drafts the extra issue of an alert, over its own hours: give no --period, --from or --to")
				}
				x := extraOptions{db: db, id: alert, out: out, lang: lang, font: font, chromium: chromium}
				if cmd.Flags().Changed("format") {
					x.format = formats
				}
				return x.run(cmd, g)
			}
			if out == "" {
				return errors.New("--out DIR is required")
			}
			cfg := report.DefaultConfig()
			var err error
			if cfg.Lang, err = report.ParseLang(lang); err != nil {
				return fmt.Errorf("--lang: %w", err)
			}
			if cfg.Formats, err = report.ParseFormats(formats); err != nil {
				return fmt.Errorf("--format: %w", err)
			}
			cfg.Dir, cfg.Font, cfg.Chromium, cfg.Now = out, font, chromium, g.now
			p, err := per.resolve()
			if err != nil {
				return err
			}
			st, err := openExisting(cmd.Context(), db)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := report.Write(cmd.Context(), st, p, cfg)
			if err := printWritten(cmd, res, err); err != nil {
				return err
			}
			if res.NoPDF != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "nightjar: PDF not produced: %s\n", res.NoPDF)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	f.StringVar(&out, "out", "", "output `DIR` (created if missing); with --alert, the output FILE")
	f.Int64Var(&alert, "alert", 0, "draft the extra issue of the alert of this `ID` instead of a period's report")
	f.StringVar(&lang, "lang", "en", "language: en or ja")
	f.StringVar(&formats, "format", "html,md,pdf", "formats, comma-separated: "+strings.Join([]string{"html", "md", "pdf"}, ", ")+"; with --alert, one (default: --out's extension)")
	f.StringVar(&font, "font", "", "TrueType/OpenType `FILE` with Japanese glyphs for the charts of --lang ja (default: Debian's IPA Gothic)")
	f.StringVar(&chromium, "chromium", "", "the browser that prints the PDF (default: chromium in PATH)")
	per.addFlags(f)
	return cmd
}

// extraOptions are the flags of `report --alert`.
type extraOptions struct {
	db                string
	id                int64
	out, lang, format string
	font, chromium    string
}

// run drafts the extra issue of the alert and writes it to one file.
func (o extraOptions) run(cmd *cobra.Command, g *globalOptions) error {
	if o.id <= 0 {
		return fmt.Errorf("--alert %d: want a positive alert ID (nightjar alerts list shows them)", o.id)
	}
	cfg := report.DefaultConfig()
	var err error
	if cfg.Lang, err = report.ParseLang(o.lang); err != nil {
		return fmt.Errorf("--lang: %w", err)
	}
	f, err := o.outFormat(cfg.Lang)
	if err != nil {
		return err
	}
	cfg.Formats, cfg.Font, cfg.Chromium, cfg.Now = []report.Format{f}, o.font, o.chromium, g.now
	cfg.Dir = filepath.Dir(o.out)
	cfg.Name = strings.TrimSuffix(filepath.Base(o.out), filepath.Ext(o.out))
	st, err := openExisting(cmd.Context(), o.db)
	if err != nil {
		return err
	}
	defer st.Close()
	found, err := st.Alerts(cmd.Context(), store.AlertQuery{IDs: []int64{o.id}})
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return fmt.Errorf("alert %d: %w (nightjar alerts list --db %s shows the alerts)", o.id, store.ErrUnknownAlert, o.db)
	}
	res, err := report.WriteExtra(cmd.Context(), st, found[0], cfg)
	if err := printWritten(cmd, res, err); err != nil {
		return err
	}
	if res.NoPDF != "" { // the one file asked for
		return fmt.Errorf("PDF not produced: %s", res.NoPDF)
	}
	return nil
}

// outFormat settles the draft's format and file: --format, else --out's
// extension; --out defaults to alert-ID-LANG.html (or the format's
// extension) in the current directory, and must end with the format's.
func (o *extraOptions) outFormat(lang report.Lang) (report.Format, error) {
	ext := func(f report.Format) string { return "." + string(f) }
	var f report.Format
	if o.format != "" {
		fs, err := report.ParseFormats(o.format)
		if err != nil {
			return "", fmt.Errorf("--format: %w", err)
		}
		if len(fs) != 1 {
			return "", fmt.Errorf("--format: --alert writes one file, in one format (html, md or pdf), not %q", o.format)
		}
		f = fs[0]
	}
	if o.out == "" {
		if f == "" {
			f = report.HTML
		}
		o.out = fmt.Sprintf("alert-%d-%s%s", o.id, lang, ext(f))
		return f, nil
	}
	if f == "" {
		i := slices.IndexFunc(report.Formats, func(x report.Format) bool { return strings.EqualFold(filepath.Ext(o.out), ext(x)) })
		if i < 0 {
			return "", fmt.Errorf("--out %s: the file's extension chooses the format: end it with .html, .md or .pdf (or give --format)", o.out)
		}
		return report.Formats[i], nil
	}
	if !strings.EqualFold(filepath.Ext(o.out), ext(f)) {
		return "", fmt.Errorf("--out %s: a %s draft is written to a file ending with %s", o.out, f, ext(f))
	}
	return f, nil
}

// printWritten prints a report's warnings, and the files it wrote unless
// it failed (err, returned).
func printWritten(cmd *cobra.Command, res report.Result, err error) error {
	for _, w := range res.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "nightjar: warning: %s\n", w)
	}
	if err != nil {
		return err
	}
	for _, f := range res.Files {
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", f)
	}
	return nil
}
