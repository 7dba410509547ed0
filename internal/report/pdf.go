package report

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNoChromium: no Chromium to print the PDF with. Write does not fail
// for it: it says why the PDF is missing.
var ErrNoChromium = errors.New("chromium not found")

// Chromiums are the programs looked up in PATH to print PDF.
var Chromiums = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChromium returns the path of the browser that prints the PDF: exe
// when given (a path or a name in PATH), else the first of Chromiums in
// PATH. Its error wraps ErrNoChromium.
func FindChromium(exe string) (string, error) {
	names := Chromiums
	if exe != "" {
		names = []string{exe}
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: looked for %s in PATH (on Debian: apt-get install chromium; scripts/deps.sh installs it)", ErrNoChromium, strings.Join(names, ", "))
}

// ChromiumOptions are the flags the report's headless Chromium runs with,
// for a browser at exe with its profile in dir: headless, no GPU, no
// sandbox when running as root (Chromium refuses to start otherwise), and
// no background connections — the page is a local file with everything
// inline, and nothing may leave the machine while it renders (host names
// resolve to nothing).
func ChromiumOptions(exe, dir string) []chromedp.ExecAllocatorOption {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1200, 1600),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}

// printPDF prints a self-contained HTML page to A4 PDF with the headless
// Chromium at exe.
func printPDF(ctx context.Context, exe string, html []byte) ([]byte, error) {
	dir, err := os.MkdirTemp("", "nightjar-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, html, 0o600); err != nil {
		return nil, err
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, ChromiumOptions(exe, filepath.Join(dir, "profile"))...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	if err := chromedp.Do(tab); err != nil { // starts the browser, without a time limit (see chromedp.Run)
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	limited, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(limited, chromedp.Navigate("file://"+filepath.ToSlash(page))); err != nil {
		return nil, fmt.Errorf("open the report in %s: %w", exe, err)
	}
	pdf, err := chromedp.Run(limited, chromedp.PrintToPDF(chromedp.PDFPaper(chromedp.PaperA4), chromedp.PDFPreferCSSPageSize(),
		chromedp.PDFPrintBackground(), chromedp.PDFOutlineAndTagged(), chromedp.PDFStream(),
		chromedp.PDFFooterTemplate(`<div style="font-size:8px;width:100%;text-align:center;color:#555"><span class="pageNumber"></span> / <span class="totalPages"></span></div>`),
		chromedp.PDFHeaderTemplate(`<div></div>`)))
	if err != nil {
		return nil, fmt.Errorf("print to PDF with %s: %w", exe, err)
	}
	return pdf, nil
}
