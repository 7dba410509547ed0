package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/testenv"
	"github.com/nightjar-telescope/nightjar/internal/web/webtest"
)

// TestInChromium writes the fixture's 2024Q3 report in every format and
// both languages with the real headless Chromium, then opens each HTML
// file in it: the page requests nothing but itself and its data: figures,
// logs no error, and each figure, screenshot on its own, is a drawn chart
// (not blank: several colours, the bars' colour, a chart area that is not
// uniform). The PDF is a PDF of several pages. Without Chromium the test
// is skipped, or fails under NIGHTJAR_REQUIRE_INTEGRATION=1.
func TestInChromium(t *testing.T) {
	t.Parallel()
	exe := testenv.Tool(t, "chromium")
	if !slices.ContainsFunc(CJKFonts, func(p string) bool { _, err := os.Stat(p); return err == nil }) {
		testenv.Missing(t, "no Japanese font for the charts (scripts/deps.sh installs fonts-ipafont-gothic): looked for %s", strings.Join(CJKFonts, ", "))
	}
	st, _, _ := theFixture(t)
	q3, _ := period.Parse("2024Q3")
	dir := t.TempDir()
	b := webtest.New(t)
	for _, lang := range Langs {
		cfg := Config{Lang: lang, Formats: Formats, Dir: dir, Chromium: exe, Now: fixedNow}
		res, err := Write(t.Context(), st, q3, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.NoPDF != "" || len(res.Warnings) > 0 {
			t.Errorf("%s: no PDF (%q), warnings %q", lang, res.NoPDF, res.Warnings)
		}
		base := filepath.Join(dir, "report-"+string(lang))
		want := []string{base + ".html", base + ".md"}
		for _, fig := range []string{"fig1-top-ports", "fig2-monthly", "fig3-mirai"} {
			want = append(want, base+"-"+fig+".svg", base+"-"+fig+".png")
		}
		want = append(want, base+".pdf")
		if !slices.Equal(res.Files, want) {
			t.Errorf("%s: wrote %q, want %q", lang, res.Files, want)
		}
		pdf, err := os.ReadFile(base + ".pdf")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || bytes.Count(pdf, []byte("/Type /Page\n")) < 3 && bytes.Count(pdf, []byte("/Type /Page")) < 4 {
			t.Errorf("%s: %s is not a PDF of several pages (%d bytes)", lang, base+".pdf", len(pdf))
		}
		for _, fig := range want[2:8] {
			if strings.HasSuffix(fig, ".png") {
				checkChartImage(t, fig, readFile(t, fig))
			}
		}

		page := "file://" + base + ".html"
		b.Do(t, "open "+page, chromedp.Navigate(page))
		ids := webtest.Eval[[]string](t, b, `[...document.querySelectorAll('figure.chart')].map((f) => f.id)`)
		if len(ids) != 3 {
			t.Fatalf("%s: %d figures in the page, want 3", lang, len(ids))
		}
		loaded := webtest.Eval[bool](t, b, `[...document.images].every((i) => i.complete && i.naturalWidth > 0)`)
		if !loaded {
			t.Errorf("%s: a figure did not load", lang)
		}
		for _, id := range ids {
			shot, err := chromedp.Run(b.Context(), chromedp.Screenshot(chromedp.CSS("#"+id+" img")))
			if err != nil {
				t.Fatalf("%s: screenshot of %s: %v", lang, id, err)
			}
			checkChartImage(t, string(lang)+" "+id, shot)
		}
		b.Screenshot(t, "report-"+string(lang))
		b.CheckConsole(t, page)
		for _, r := range b.Requests() {
			if !strings.HasPrefix(r, "file://") && !strings.HasPrefix(r, "data:") {
				t.Errorf("%s: the page requested %s", lang, r)
			}
		}
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkChartImage fails unless a PNG shows a drawn chart (see
// chartImageProblem).
func checkChartImage(t *testing.T, what string, b []byte) {
	t.Helper()
	if err := chartImageProblem(b); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// chartImageProblem says what is wrong with a PNG that should show a
// chart: too small, too few colours, no bar of the first series' colour,
// or a plot that is empty or a solid block.
func chartImageProblem(b []byte) error {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return err
	}
	bounds := img.Bounds()
	if bounds.Dx() < 300 || bounds.Dy() < 150 {
		return fmt.Errorf("%dx%d pixels, too small to read", bounds.Dx(), bounds.Dy())
	}
	colors := map[color.RGBA]bool{}
	var painted, bars, total int
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			total++
			colors[color.RGBA{c.R &^ 7, c.G &^ 7, c.B &^ 7, 0}] = true
			if c.R < 240 || c.G < 240 || c.B < 240 {
				painted++
			}
			if near(c, palette[0]) {
				bars++
			}
		}
	}
	share, barShare := float64(painted)/float64(total), float64(bars)/float64(total)
	if len(colors) < 3 || share < 0.02 || share > 0.9 || barShare < 0.005 {
		return fmt.Errorf("looks blank or broken: %d colours, %.1f%% painted, %.1f%% in the bars' colour", len(colors), 100*share, 100*barShare)
	}
	return nil
}

// TestChartImageProblem: the check of screenshots tells blank and solid
// images from charts.
func TestChartImageProblem(t *testing.T) {
	t.Parallel()
	encode := func(fill func(x, y int) color.Color) []byte {
		img := image.NewRGBA(image.Rect(0, 0, 600, 300))
		for y := range 300 {
			for x := range 600 {
				img.Set(x, y, fill(x, y))
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	white := encode(func(int, int) color.Color { return color.White })
	solid := encode(func(int, int) color.Color { return palette[0] })
	bars := encode(func(x, y int) color.Color {
		switch {
		case y == 250 || x == 50:
			return color.Black
		case x%100 > 60 && x%100 < 90 && y > 250-x/3:
			return palette[x/100%2]
		}
		return color.White
	})
	for name, tt := range map[string]struct {
		png  []byte
		fine bool
	}{"white": {white, false}, "solid": {solid, false}, "bars": {bars, true}} {
		if err := chartImageProblem(tt.png); (err == nil) != tt.fine {
			t.Errorf("%s: chartImageProblem() = %v", name, err)
		}
	}
}

func near(a, b color.RGBA) bool {
	d := func(x, y uint8) int { return max(int(x), int(y)) - min(int(x), int(y)) }
	return d(a.R, b.R) < 24 && d(a.G, b.G) < 24 && d(a.B, b.B) < 24
}
