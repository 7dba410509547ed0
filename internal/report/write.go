package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Format is an output format of a report.
type Format string

// The formats.
const (
	HTML     Format = "html"
	Markdown Format = "md"
	PDF      Format = "pdf"
)

// Formats lists every format, in the order Write writes them.
var Formats = []Format{HTML, Markdown, PDF}

// ParseFormats reads a comma-separated list of formats ("html,md,pdf").
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for part := range strings.SplitSeq(s, ",") {
		f := Format(strings.ToLower(strings.TrimSpace(part)))
		if f == "markdown" {
			f = Markdown
		}
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("unknown format %q (want a comma-separated list of html, md, pdf)", strings.TrimSpace(part))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// Config says what Write writes.
type Config struct {
	// Lang is the language of the report.
	Lang Lang
	// Formats are the files to write (default: all).
	Formats []Format
	// Dir is the output directory, created if missing. Files are named
	// report-LANG.html, report-LANG.md (figures report-LANG-figN-NAME.svg
	// and .png beside it) and report-LANG.pdf, so that both languages fit
	// in one directory; existing files of those names are replaced.
	Dir string
	// Name, when set, replaces "report-LANG" in the files' names
	// (NAME.html, NAME.md, NAME-fig1-chart.svg...): the extra issue of an
	// alert is written to the file the user names.
	Name string
	// Font is a TrueType/OpenType font with Japanese glyphs for the
	// charts of Japanese reports; empty searches CJKFonts.
	Font string
	// Chromium is the browser that prints the PDF; empty searches
	// Chromiums in PATH.
	Chromium string
	// Now is the clock of the report's generation date; nil is time.Now.
	Now func() time.Time
}

// DefaultConfig writes every format, in English, into the current
// directory.
func DefaultConfig() Config {
	return Config{Lang: English, Formats: Formats, Dir: "."}
}

// Result tells what Write wrote.
type Result struct {
	// Files are the paths written.
	Files []string
	// Warnings are what the user should know: a missing Japanese font.
	Warnings []string
	// NoPDF says why the PDF that was asked for was not produced ("" when
	// it was, or was not asked for).
	NoPDF string
}

// Write builds the report of p from st and writes it in the formats of
// cfg. A missing Chromium does not fail it: Result.NoPDF says so.
func Write(ctx context.Context, st Store, p period.Period, cfg Config) (Result, error) {
	charts, res, err := cfg.prepare()
	if err != nil {
		return res, err
	}
	data, err := Build(ctx, st, p, cfg.now())
	if err != nil {
		return res, err
	}
	doc, err := renderDoc(data, cfg.Lang, charts)
	if err != nil {
		return res, fmt.Errorf("report: %w", err)
	}
	return cfg.emit(ctx, doc, res)
}

// WriteExtra drafts the extra issue of alert a from st (BuildExtra) and
// writes it as Write writes a report.
func WriteExtra(ctx context.Context, st Store, a store.Alert, cfg Config) (Result, error) {
	charts, res, err := cfg.prepare()
	if err != nil {
		return res, err
	}
	x, err := BuildExtra(ctx, st, a, cfg.now())
	if err != nil {
		return res, err
	}
	doc, err := renderExtra(x, cfg.Lang, charts)
	if err != nil {
		return res, fmt.Errorf("extra issue: %w", err)
	}
	return cfg.emit(ctx, doc, res)
}

// prepare checks cfg before the store is asked anything, and returns the
// charter of its language (with its warning in Result).
func (cfg Config) prepare() (*charter, Result, error) {
	var res Result
	if _, err := ParseLang(string(cfg.Lang)); err != nil {
		return nil, res, err
	}
	if len(cfg.Formats) == 0 {
		return nil, res, errors.New("no output format (want html, md or pdf)")
	}
	for _, f := range cfg.Formats {
		if !slices.Contains(Formats, f) {
			return nil, res, fmt.Errorf("unknown format %q (want html, md or pdf)", f)
		}
	}
	if cfg.Dir == "" {
		return nil, res, errors.New("no output directory")
	}
	if cfg.Name != "" && (cfg.Name != filepath.Base(cfg.Name) || cfg.Name == "." || cfg.Name == "..") {
		return nil, res, fmt.Errorf("file name %q has a directory (give it in Dir)", cfg.Name)
	}
	charts, warning, err := newCharter(cfg.Lang, cfg.Font, CJKFonts)
	if err != nil {
		return nil, res, fmt.Errorf("report: %w", err)
	}
	if warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	return charts, res, nil
}

func (cfg Config) now() time.Time {
	if cfg.Now != nil {
		return cfg.Now()
	}
	return time.Now()
}

// emit writes doc in cfg's formats into cfg.Dir.
func (cfg Config) emit(ctx context.Context, doc *document, res Result) (Result, error) {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return res, fmt.Errorf("report: output directory: %w", err)
	}
	name := cfg.Name
	if name == "" {
		name = "report-" + string(cfg.Lang)
	}
	base := filepath.Join(cfg.Dir, name)
	write := func(path string, b []byte) error {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		res.Files = append(res.Files, path)
		return nil
	}
	var page []byte
	var err error
	if slices.Contains(cfg.Formats, HTML) || slices.Contains(cfg.Formats, PDF) {
		if page, err = htmlReport(doc); err != nil {
			return res, fmt.Errorf("report: html: %w", err)
		}
	}
	for _, f := range Formats { // in a fixed order
		if !slices.Contains(cfg.Formats, f) {
			continue
		}
		switch f {
		case HTML:
			err = write(base+".html", page)
		case Markdown:
			prefix := name + "-"
			if err = write(base+".md", markdown(doc, prefix)); err != nil {
				break
			}
			for _, fig := range doc.figures() {
				if err = write(filepath.Join(cfg.Dir, prefix+fig.Name+".svg"), fig.SVG); err != nil {
					break
				}
				if err = write(filepath.Join(cfg.Dir, prefix+fig.Name+".png"), fig.PNG); err != nil {
					break
				}
			}
		case PDF:
			exe, ferr := FindChromium(cfg.Chromium)
			if ferr != nil {
				res.NoPDF = ferr.Error()
				break
			}
			var pdf []byte
			if pdf, err = printPDF(ctx, exe, page); err != nil {
				err = fmt.Errorf("report: pdf: %w", err)
				break
			}
			err = write(base+".pdf", pdf)
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// figures returns the document's figures in order.
func (d *document) figures() []*figure {
	var out []*figure
	for _, s := range d.Sections {
		for _, b := range s.Blocks {
			if b.Figure != nil {
				out = append(out, b.Figure)
			}
		}
	}
	return out
}
