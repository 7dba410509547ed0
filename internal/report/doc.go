// Package report owns Nightjar's quarterly (or any period's) report: it
// asks the store for the period and the previous one (Build), turns the
// answers into a document in English or Japanese (headings, sentences from
// the message catalogues of messages.go, tables, and figures drawn in Go
// with gonum.org/v1/plot as SVG and PNG), and writes it (Write) as one
// self-contained HTML file, as Markdown with its figures beside it, and as
// PDF printed by headless Chromium.
//
// The sections follow JPCERT/CC's quarterly reports: summary with the
// change from the previous period, the fleet's top 5 ports, the monthly
// averages per group, every sensor's top 10 side by side, ports common to
// almost every sensor and ports prominent at one sensor only, Mirai-type
// activity, source countries and ASNs, notable sources and device models.
// Nothing is fetched from the network while rendering.
//
// The extra issue of an alert (extra.go, extra_render.go; WriteExtra)
// is the draft a team publishes when it sees an unusual change: what
// changed, where (the sensors and groups that saw it and those that did
// not), since when, the chart of its port or tag against the baseline,
// and the top sources, with the same catalogues, charts and formats.
package report
