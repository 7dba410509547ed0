package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"

	"codeberg.org/go-fonts/liberation/liberationsansregular"
	"golang.org/x/image/font/opentype"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chart is a grouped bar chart: a bar per category and series. Values are
// in the unit of YLabel; Percent charts run from 0 to 100. Lines are drawn
// over the bars, a point per category (NaN: none, a gap in the line).
// Labels, when set, label the categories on the axis instead of their
// names ("" leaves one unlabelled: an hourly axis labels its midnights).
type chart struct {
	Categories []string
	Series     []series
	Lines      []series
	Labels     []string
	XLabel     string
	YLabel     string
	Percent    bool
}

type series struct {
	Name   string
	Values []float64
}

// CJKFonts are the files searched for a Japanese font when none is given:
// Debian's fonts-ipafont-gothic (scripts/deps.sh installs it), then
// IPAexGothic and Takao.
var CJKFonts = []string{
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
	"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf",
}

// The font-family lists written into SVG charts: the viewer renders with the
// first it has.
const (
	latinFamilies = `font-family:'Liberation Sans',Arial,Helvetica,sans-serif;`
	cjkFamilies   = `font-family:IPAGothic,'IPAexGothic','Noto Sans CJK JP','Hiragino Sans','Yu Gothic',Meiryo,sans-serif;`
)

// The size of charts: a text-width figure, readable when printed on A4.
const (
	chartWidth  = 16 * vg.Centimeter
	chartHeight = 9 * vg.Centimeter
	chartDPI    = 150
)

// palette: the Okabe–Ito colours, distinct for colour-blind readers and in
// grey-scale print.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, {0xE6, 0x9F, 0x00, 0xff}, {0x00, 0x9E, 0x73, 0xff}, {0xCC, 0x79, 0xA7, 0xff},
	{0x56, 0xB4, 0xE9, 0xff}, {0xD5, 0x5E, 0x00, 0xff}, {0xF0, 0xE4, 0x42, 0xff}, {0x00, 0x00, 0x00, 0xff},
}

// charter draws charts with one font; l is the language of their labels.
type charter struct {
	l        locale
	fonts    *font.Cache
	families string
}

// newCharter returns the charter of a report in lang. Japanese labels need
// a CJK font: fontPath, or the first file of search that exists (Write
// searches CJKFonts). Without one, warning says so and the charts are
// labelled in English (rather than with empty boxes in place of the
// glyphs).
func newCharter(lang Lang, fontPath string, search []string) (c *charter, warning string, err error) {
	if lang == Japanese {
		paths := search
		if fontPath != "" {
			paths = []string{fontPath}
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) && fontPath == "" {
				continue
			}
			if err != nil {
				return nil, "", fmt.Errorf("read font: %w", err)
			}
			f, err := opentype.Parse(b)
			if err != nil {
				return nil, "", fmt.Errorf("font %s: %w (want a TrueType or OpenType file, not a collection)", p, err)
			}
			return &charter{l: newLocale(Japanese), fonts: font.NewCache(font.Collection{{Font: font.Font{Typeface: "report"}, Face: f}}),
				families: cjkFamilies}, "", nil
		}
		warning = fmt.Sprintf("no Japanese font found (looked for %s; install Debian's fonts-ipafont-gothic or give --font): chart labels are in English",
			strings.Join(paths, ", "))
	}
	f, err := opentype.Parse(liberationsansregular.TTF)
	if err != nil {
		return nil, "", fmt.Errorf("font Liberation Sans: %w", err)
	}
	return &charter{l: newLocale(English), fonts: font.NewCache(font.Collection{{Font: font.Font{Typeface: "report"}, Face: f}}),
		families: latinFamilies}, warning, nil
}

// draw draws c as SVG and as PNG. A chart without a value above zero is an
// error: the report says "no data" instead of drawing one.
func (ch *charter) draw(c chart) (svg, png []byte, err error) {
	if !c.hasData() {
		return nil, nil, errors.New("no value above zero to draw")
	}
	sc := vgsvg.New(chartWidth, chartHeight)
	if err := ch.drawOn(draw.New(sc), c); err != nil {
		return nil, nil, err
	}
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, err
	}
	svg = fontFamily.ReplaceAll(sb.Bytes(), []byte(ch.families))

	pc := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, chartHeight), vgimg.UseDPI(chartDPI))}
	if err := ch.drawOn(draw.New(pc), c); err != nil {
		return nil, nil, err
	}
	var pb bytes.Buffer
	if _, err := pc.WriteTo(&pb); err != nil {
		return nil, nil, err
	}
	return svg, pb.Bytes(), nil
}

var fontFamily = regexp.MustCompile(`font-family:[^;"]*;`)

func (c chart) hasData() bool { return c.max() > 0 }

// max is the largest value of the chart.
func (c chart) max() float64 {
	var m float64
	for _, s := range append(slices.Clip(c.Series), c.Lines...) {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				m = max(m, v)
			}
		}
	}
	return m
}

// style returns a text style of the charter's font.
func (ch *charter) style(size vg.Length, xa draw.XAlignment, ya draw.YAlignment) text.Style {
	return text.Style{Color: color.Black, Font: font.Font{Typeface: "report", Size: size}, XAlign: xa, YAlign: ya,
		Handler: text.Plain{Fonts: ch.fonts}}
}

// drawOn draws the chart, its legend in a column on the right.
func (ch *charter) drawOn(dc draw.Canvas, c chart) (err error) {
	defer func() { // gonum/plot panics on impossible layouts
		if r := recover(); r != nil {
			err = fmt.Errorf("draw chart: %v", r)
		}
	}()
	p := plot.New()
	p.TextHandler = text.Plain{Fonts: ch.fonts}
	p.X.Label.TextStyle = ch.style(10, draw.XCenter, draw.YBottom)
	p.Y.Label.TextStyle = ch.style(10, draw.XCenter, draw.YBottom)
	p.X.Tick.Label = ch.style(9, draw.XCenter, draw.YTop)
	p.Y.Tick.Label = ch.style(9, draw.XRight, draw.YCenter)
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	p.X.Label.Padding, p.Y.Label.Padding = vg.Points(4), vg.Points(4)
	p.Y.Min = 0
	if c.Percent {
		p.Y.Max = 100
	} else {
		p.Y.Max = c.max() * 1.08 // room above the highest bar
	}
	p.Y.Tick.Marker = ch.ticks()
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	grid.Horizontal.Color = color.Gray{0xd8}
	p.Add(grid)

	legend := plot.NewLegend()
	legend.TextStyle = ch.style(9, draw.XLeft, draw.YBottom)
	legend.Padding = vg.Points(3)
	legend.Top, legend.Left = true, true
	legend.ThumbnailWidth = vg.Points(14)
	legendWidth := vg.Length(0)
	for _, s := range append(slices.Clip(c.Series), c.Lines...) {
		legendWidth = max(legendWidth, legend.TextStyle.Width(s.Name))
	}
	legendWidth += legend.ThumbnailWidth + vg.Points(16)

	// Bars of a category share 80 % of the width of a category.
	plotWidth := dc.Max.X - dc.Min.X - legendWidth - vg.Points(60)
	group := plotWidth / vg.Length(max(len(c.Categories), 1)) * 0.8
	bar := min(group/vg.Length(len(c.Series)), vg.Points(28))
	for i, s := range c.Series {
		bc, err := plotter.NewBarChart(plotter.Values(s.Values), bar)
		if err != nil {
			return err
		}
		bc.Color = palette[i%len(palette)]
		bc.LineStyle.Width = 0
		bc.Offset = (vg.Length(i) - vg.Length(len(c.Series)-1)/2) * bar
		p.Add(bc)
		legend.Add(s.Name, bc)
	}
	for i, s := range c.Lines {
		if err := addLine(p, &legend, s, palette[(len(c.Series)+i)%len(palette)]); err != nil {
			return err
		}
	}
	if c.Labels != nil {
		p.NominalX(c.Labels...)
	} else {
		p.NominalX(c.Categories...)
	}
	if len(c.Categories) > 6 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
	}
	p.Draw(draw.Crop(dc, vg.Points(2), -legendWidth, vg.Points(2), -vg.Points(8)))
	legend.Draw(draw.Crop(dc, dc.Max.X-dc.Min.X-legendWidth+vg.Points(8), 0, 0, -vg.Points(8)))
	return nil
}

// addLine draws s over the categories: a line through each run of
// values, a point on each value.
func addLine(p *plot.Plot, legend *plot.Legend, s series, col color.RGBA) error {
	var run plotter.XYs
	var points plotter.XYs
	flush := func() error {
		if len(run) > 1 {
			l, err := plotter.NewLine(run)
			if err != nil {
				return err
			}
			l.Color, l.Width = col, vg.Points(1.5)
			p.Add(l)
		}
		run = nil
		return nil
	}
	for i, v := range s.Values {
		if math.IsNaN(v) {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		run = append(run, plotter.XY{X: float64(i), Y: v})
		points = append(points, plotter.XY{X: float64(i), Y: v})
	}
	if err := flush(); err != nil {
		return err
	}
	if len(points) == 0 {
		return nil
	}
	sc, err := plotter.NewScatter(points)
	if err != nil {
		return err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}
	p.Add(sc)
	legend.Add(s.Name, sc)
	return nil
}

// ticks labels the value axis with the report's number format.
func (ch *charter) ticks() plot.Ticker {
	return plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(lo, hi)
		for i, t := range ticks {
			if t.Label == "" {
				continue
			}
			prec := 0
			if t.Value != math.Trunc(t.Value) {
				prec = 1
			}
			ticks[i].Label = ch.l.Float(t.Value, prec)
		}
		return ticks
	})
}
