package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/report"
)

func newReportCommand(g *globalOptions) *cobra.Command {
	var (
		db, out, lang, formats, font, chromium string
		per                                    periodOptions
	)
	cmd := &cobra.Command{
		Use:   "report --db PATH (--period P | --from D --to D) --out DIR [flags]",
		Short: "Write the report of a period (quarter) as HTML, Markdown and PDF",
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
one, the charts are labelled in English, with a warning.`,
		Example: `  nightjar report --db telescope.duckdb --period 2024Q3 --out q3
  nightjar report --db telescope.duckdb --period 2024Q3 --out q3 --lang ja --format html,pdf
  nightjar report --db telescope.duckdb --from 2024-07-01 --to 2024-07-31 --out july --format md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unexpected argument %q", args[0])
			}
			if db == "" {
				return errors.New("--db PATH is required")
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
			stderr := cmd.ErrOrStderr()
			for _, w := range res.Warnings {
				fmt.Fprintf(stderr, "nightjar: warning: %s\n", w)
			}
			if err != nil {
				return err
			}
			for _, f := range res.Files {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", f)
			}
			if res.NoPDF != "" {
				fmt.Fprintf(stderr, "nightjar: PDF not produced: %s\n", res.NoPDF)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `PATH`")
	f.StringVar(&out, "out", "", "output `DIR` (created if missing)")
	f.StringVar(&lang, "lang", "en", "language: en or ja")
	f.StringVar(&formats, "format", "html,md,pdf", "formats, comma-separated: "+strings.Join([]string{"html", "md", "pdf"}, ", "))
	f.StringVar(&font, "font", "", "TrueType/OpenType `FILE` with Japanese glyphs for the charts of --lang ja (default: Debian's IPA Gothic)")
	f.StringVar(&chromium, "chromium", "", "the browser that prints the PDF (default: chromium in PATH)")
	per.addFlags(f)
	return cmd
}
