package notify

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// TimeLayout is how a timestamp is written: Shadowserver's, always UTC.
const TimeLayout = "2006-01-02 15:04:05"

// column is one column of a report: its name, whether JSON writes it as a
// number, and its text for an event of an owner.
type column struct {
	name    string
	numeric bool
	text    func(o *Owner, e Event) string
}

// columns are the report's columns, in Shadowserver's order.
var columns = []column{
	{"timestamp", false, func(_ *Owner, e Event) string { return e.Timestamp.UTC().Format(TimeLayout) }},
	{"protocol", false, func(_ *Owner, e Event) string { return e.Protocol }},
	{"src_ip", false, func(_ *Owner, e Event) string { return addrText(e.SrcIP.IsValid(), e.SrcIP.String) }},
	{"src_port", true, func(_ *Owner, e Event) string { return strconv.Itoa(int(e.SrcPort)) }},
	{"src_asn", true, func(_ *Owner, e Event) string {
		if e.SrcASN == 0 {
			return ""
		}
		return strconv.FormatUint(uint64(e.SrcASN), 10)
	}},
	{"src_geo", false, func(_ *Owner, e Event) string { return e.SrcGeo }},
	{"device_vendor", false, func(_ *Owner, e Event) string { return e.DeviceVendor }},
	{"device_model", false, func(_ *Owner, e Event) string { return e.DeviceModel }},
	{"dst_ip", false, func(o *Owner, e Event) string {
		// The one place a destination is written, whatever the caller passed.
		return addrText(o.DiscloseDestinations && e.DstIP.IsValid(), e.DstIP.String)
	}},
	{"dst_port", true, func(_ *Owner, e Event) string { return strconv.Itoa(int(e.DstPort)) }},
	{"tag", false, func(_ *Owner, e Event) string { return e.Tag }},
	{"count", true, func(_ *Owner, e Event) string { return strconv.FormatUint(e.Count, 10) }},
}

func addrText(ok bool, text func() string) string {
	if !ok {
		return ""
	}
	return text()
}

// Columns returns the names of the report's columns, in order.
func Columns() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

// Write writes r in its owner's format.
func Write(w io.Writer, r Report) error {
	if r.Owner.Format == JSON {
		return WriteJSON(w, r)
	}
	return WriteCSV(w, r)
}

// WriteCSV writes r as CSV: a header of the column names, then one line
// per event. A report without events is the header alone.
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns()); err != nil {
		return err
	}
	row := make([]string, len(columns))
	for _, e := range r.Events {
		for i, c := range columns {
			row[i] = c.text(r.Owner, e)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes r as one JSON array of objects, one object per line,
// each with every column as a key in the CSV's order: numbers as numbers
// (src_asn null when unknown), text as strings, "" when empty. One array
// is the shape of Shadowserver's JSON (its reports API answers with an
// array of events) and what `jq` and every JSON reader take whole; an
// object per line still lets grep and diff work line by line. A report
// without events is "[]".
func WriteJSON(w io.Writer, r Report) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("[")
	for n, e := range r.Events {
		if n > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n{")
		for i, c := range columns {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.Write(jsonString(c.name))
			bw.WriteString(":")
			switch v := c.text(r.Owner, e); {
			case !c.numeric:
				bw.Write(jsonString(v))
			case v == "":
				bw.WriteString("null")
			default:
				bw.WriteString(v)
			}
		}
		bw.WriteString("}")
	}
	if len(r.Events) > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}

// FileName returns the name of owner o's file for period p:
// "<FileStem>-<period>.<csv|json>", e.g. "example-isp-2024-07-15.csv". A
// custom period is written "<start>--<end>" without colons.
func FileName(o *Owner, p period.Period) string {
	label := strings.NewReplacer("/", "--", ":", "").Replace(p.String())
	return o.stem + "-" + label + "." + o.Format.Ext()
}

// File is a report written to disk.
type File struct {
	Report Report
	Path   string
}

// WriteDir writes every report into dir (made if missing), each to
// FileName, replacing a file of that name whole (a write goes to a
// temporary file renamed into place). Every owner gets a file, a report
// without events too (the CSV header alone, "[]" in JSON): the directory
// then shows which owners a run covered and that they had nothing, and a
// script that reads it finds every file it expects. A Mailer sends no
// mail for an empty report, as Shadowserver sends none. On an error it
// returns the files written before it.
func WriteDir(dir string, p period.Period, reports []Report) ([]File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write reports: %w", err)
	}
	files := make([]File, 0, len(reports))
	for _, r := range reports {
		name := FileName(r.Owner, p)
		if !filepath.IsLocal(name) || filepath.Base(name) != name {
			// FileStem makes this impossible; a file outside dir must be.
			return files, fmt.Errorf("write report of owner %q: unsafe file name %q", r.Owner.Name, name)
		}
		path := filepath.Join(dir, name)
		if err := writeFileAtomic(path, func(w io.Writer) error { return Write(w, r) }); err != nil {
			return files, fmt.Errorf("write report of owner %q: %w", r.Owner.Name, err)
		}
		files = append(files, File{Report: r, Path: path})
	}
	return files, nil
}

// writeFileAtomic writes path through a temporary file of its directory
// renamed over it, so that a reader never sees half a report.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".notify-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriter(tmp)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
