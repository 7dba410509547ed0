package report

import (
	"bytes"
	"strings"
)

// markdown writes doc as Markdown (GitHub's dialect: pipe tables). Figures
// are links to their files, named prefix + the figure's name + ".svg" and
// ".png", which the caller writes beside the Markdown file.
func markdown(doc *document, prefix string) []byte {
	var b bytes.Buffer
	l := newLocale(doc.Lang)
	b.WriteString("# " + mdText(doc.Title) + "\n\n")
	for i, m := range doc.Meta {
		b.WriteString(mdText(m))
		if i < len(doc.Meta)-1 {
			b.WriteString("  ")
		}
		b.WriteString("\n")
	}
	for _, s := range doc.Sections {
		b.WriteString("\n## " + mdText(s.Title) + "\n")
		for _, bl := range s.Blocks {
			b.WriteString("\n")
			switch {
			case bl.Table != nil:
				mdTable(&b, bl.Table)
			case bl.Figure != nil:
				f := bl.Figure
				name := prefix + f.Name
				b.WriteString("![" + mdText(f.Caption) + "](" + name + ".svg)\n\n")
				b.WriteString("*" + mdText(f.Caption) + "* ([" + l.T("figure.png") + "](" + name + ".png))\n")
			case bl.Sub:
				b.WriteString("### " + mdText(bl.Text) + "\n")
			case bl.Note:
				b.WriteString("*" + mdText(bl.Text) + "*\n")
			default:
				b.WriteString(mdText(bl.Text) + "\n")
			}
		}
	}
	return b.Bytes()
}

func mdTable(b *bytes.Buffer, t *table) {
	if t.Caption != "" {
		b.WriteString("**" + mdText(t.Caption) + "**\n\n")
	}
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdText(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Head)
	b.WriteString("|")
	for i := range t.Head {
		if i < len(t.Right) && t.Right[i] {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
}

// mdEscaper escapes what Markdown would read as markup in running text
// and table cells.
var mdEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `|`, `\|`, `<`, `&lt;`, `[`, `\[`, `]`, `\]`, "`", "\\`")

func mdText(s string) string { return mdEscaper.Replace(s) }
