package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"html/template"
)

// report.css is the report's only style sheet, inlined into the page:
// A4 pages, tables and figures kept whole across page breaks, fonts that
// have the glyphs of the report's language.
//
//go:embed report.css
var reportCSS string

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Nightjar">
<title>{{.Title}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
{{range .Meta}}<p class="meta">{{.}}</p>
{{end}}</header>
<nav>
<h2>{{.TOC}}</h2>
<ul>
{{range .Sections}}<li><a href="#{{.ID}}">{{.Title}}</a></li>
{{end}}</ul>
</nav>
<main>
{{range .Sections}}<section id="{{.ID}}">
<h2>{{.Title}}</h2>
{{range .Blocks}}{{if .Table}}<table>
{{with .Table.Caption}}<caption>{{.}}</caption>
{{end}}<thead><tr>{{range .Table.Head}}<th{{if .Num}} class="num"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Table.Rows}}<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
{{else if .Figure}}<figure class="chart" id="{{.Figure.ID}}">
<img src="{{.Figure.Src}}" alt="{{.Figure.Caption}}" width="605" height="340">
<figcaption>{{.Figure.Caption}}</figcaption>
</figure>
{{else if .Sub}}<h3>{{.Text}}</h3>
{{else if .Note}}<p class="note">{{.Text}}</p>
{{else}}<p>{{.Text}}</p>
{{end}}{{end}}</section>
{{end}}</main>
</body>
</html>
`))

// The view of a document for htmlPage.
type (
	htmlDoc struct {
		Lang, Title, TOC string
		CSS              template.CSS
		Meta             []string
		Sections         []htmlSection
	}
	htmlSection struct {
		ID, Title string
		Blocks    []htmlBlock
	}
	htmlBlock struct {
		Text      string
		Note, Sub bool
		Table     *htmlTable
		Figure    *htmlFigure
	}
	htmlTable struct {
		Caption string
		Head    []htmlCell
		Rows    [][]htmlCell
	}
	htmlCell struct {
		Text string
		Num  bool
	}
	htmlFigure struct {
		ID, Caption string
		Src         template.URL // a data: URI of the SVG
	}
)

// htmlReport writes doc as one self-contained HTML page: the style sheet
// inline, each figure an SVG data: URI, nothing fetched from elsewhere.
func htmlReport(doc *document) ([]byte, error) {
	v := htmlDoc{Lang: string(doc.Lang), Title: doc.Title, TOC: newLocale(doc.Lang).T("toc"), CSS: template.CSS(reportCSS), Meta: doc.Meta}
	for _, s := range doc.Sections {
		hs := htmlSection{ID: s.ID, Title: s.Title}
		for _, b := range s.Blocks {
			hb := htmlBlock{Text: b.Text, Note: b.Note, Sub: b.Sub}
			if t := b.Table; t != nil {
				ht := &htmlTable{Caption: t.Caption}
				num := func(i int) bool { return i < len(t.Right) && t.Right[i] }
				for i, h := range t.Head {
					ht.Head = append(ht.Head, htmlCell{h, num(i)})
				}
				for _, r := range t.Rows {
					var row []htmlCell
					for i, c := range r {
						row = append(row, htmlCell{c, num(i)})
					}
					ht.Rows = append(ht.Rows, row)
				}
				hb.Table = ht
			}
			if f := b.Figure; f != nil {
				hb.Figure = &htmlFigure{ID: "figure-" + f.Name, Caption: f.Caption,
					Src: template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(f.SVG))}
			}
			hs.Blocks = append(hs.Blocks, hb)
		}
		v.Sections = append(v.Sections, hs)
	}
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
