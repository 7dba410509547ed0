package banner

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"
)

// Writer writes Records in one format: the simulator's held-out banner
// files, and the round trip the tests make through every Reader.
type Writer interface {
	// Write writes one Record. A Record with nothing the format carries
	// returns an error wrapping ErrNotCarried and writes nothing.
	Write(rec *Record) error
	// Close writes what the format closes with and flushes; it does not
	// close the underlying io.Writer.
	Close() error
}

// ErrNotCarried: the format has no place for any evidence of the Record
// (masscan keeps no certificate fields, Nmap no HTTP status or body).
var ErrNotCarried = errors.New("no evidence the format carries")

// NewWriter returns a Writer of format f to w.
func NewWriter(w io.Writer, f Format) (Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch f {
	case FormatZgrab2:
		return newJSONWriter(bw, zgrab2Value, "", ""), nil
	case FormatShodan:
		return newJSONWriter(bw, shodanValue, "", ""), nil
	case FormatMasscan:
		// masscan's own shape: "[", one object a line with a comma, "]".
		return newJSONWriter(bw, masscanValue, "[\n", "]\n"), nil
	case FormatCensys:
		return &hostWriter{w: bw, check: func(rec *Record) error { _, err := censysValue(rec); return err },
			flushHost: censysHostWriter(newJSONWriter(bw, nil, "", ""))}, nil
	case FormatNmap:
		return newNmapWriter(bw), nil
	}
	return nil, fmt.Errorf("unknown banner format %q (want one of %s)", f, formatList())
}

// jsonWriter writes one JSON value a line.
type jsonWriter struct {
	w           *bufio.Writer
	enc         *json.Encoder
	value       func(*Record) (any, error)
	open, close string
	opened      bool
	comma       bool
}

func newJSONWriter(w *bufio.Writer, value func(*Record) (any, error), open, close string) *jsonWriter {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // bodies stay readable: <title>, not \u003ctitle\u003e
	return &jsonWriter{w: w, enc: enc, value: value, open: open, close: close, comma: close != ""}
}

func (j *jsonWriter) Write(rec *Record) error {
	v, err := j.value(rec)
	if err != nil {
		return err
	}
	return j.writeValue(v)
}

func (j *jsonWriter) writeValue(v any) error {
	if !j.opened {
		j.opened = true
		if _, err := j.w.WriteString(j.open); err != nil {
			return err
		}
	}
	if err := j.enc.Encode(v); err != nil {
		return fmt.Errorf("encode banner: %w", err)
	}
	if j.comma {
		// masscan ends each line with a comma, the last one too.
		if err := j.w.WriteByte(','); err != nil {
			return err
		}
		return j.w.WriteByte('\n')
	}
	return nil
}

func (j *jsonWriter) Close() error {
	if !j.opened {
		if _, err := j.w.WriteString(j.open); err != nil {
			return err
		}
	}
	if _, err := j.w.WriteString(j.close); err != nil {
		return err
	}
	return j.w.Flush()
}

// hostWriter gathers consecutive Records of one address (and scan time)
// into one host, as Censys and Nmap write them.
type hostWriter struct {
	w    *bufio.Writer
	host []*Record
	// check refuses a Record at Write, not when its host is written.
	check     func(*Record) error
	flushHost func(host []*Record) error
	closeFn   func() error
}

func (h *hostWriter) Write(rec *Record) error {
	if err := h.check(rec); err != nil {
		return err
	}
	if len(h.host) > 0 && (h.host[0].Addr != rec.Addr || !h.host[0].Time.Equal(rec.Time)) {
		if err := h.flush(); err != nil {
			return err
		}
	}
	c := *rec
	h.host = append(h.host, &c)
	return nil
}

func (h *hostWriter) flush() error {
	if len(h.host) == 0 {
		return nil
	}
	err := h.flushHost(h.host)
	h.host = h.host[:0]
	return err
}

func (h *hostWriter) Close() error {
	if err := h.flush(); err != nil {
		return err
	}
	if h.closeFn != nil {
		return h.closeFn()
	}
	return h.w.Flush()
}

func censysHostWriter(j *jsonWriter) func([]*Record) error {
	return func(recs []*Record) error {
		host := censysHost{IP: recs[0].Addr.String()}
		var errs []error
		for _, rec := range recs {
			v, err := censysValue(rec)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			host.Services = append(host.Services, v.(censysHost).Services...)
		}
		if len(host.Services) > 0 {
			errs = append(errs, j.writeValue(host))
		}
		return errors.Join(errs...)
	}
}

// newNmapWriter writes an Nmap XML document: one <host> for each run of
// Records of one address.
func newNmapWriter(w *bufio.Writer) *hostWriter {
	started := false
	var start time.Time
	open := func(t time.Time) error {
		started, start = true, t
		_, err := fmt.Fprintf(w, "%s<!DOCTYPE nmaprun>\n<nmaprun scanner=\"nmap\" args=\"nmap -sV --script http-title,http-server-header,ssl-cert,banner\" start=\"%d\" version=\"7.93\" xmloutputversion=\"1.05\">\n",
			xml.Header, unixSeconds(start))
		return err
	}
	hw := &hostWriter{w: w, check: func(rec *Record) error { _, err := nmapPortOf(rec); return err }}
	hw.flushHost = func(recs []*Record) error {
		if !started {
			if err := open(recs[0].Time); err != nil {
				return err
			}
		}
		h := nmapHost{StartTime: unixSeconds(recs[0].Time), Status: &nmapState{"up"}}
		h.Addresses = []nmapAddress{{Addr: recs[0].Addr.String(), AddrType: addrType(recs[0].Addr)}}
		var errs []error
		for _, rec := range recs {
			p, err := nmapPortOf(rec)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			h.Ports = append(h.Ports, p)
		}
		if len(h.Ports) > 0 {
			b, err := xml.Marshal(h)
			if err != nil {
				return fmt.Errorf("encode nmap host: %w", err)
			}
			w.Write(b)
			errs = append(errs, w.WriteByte('\n'))
		}
		return errors.Join(errs...)
	}
	hw.closeFn = func() error {
		if !started {
			if err := open(time.Time{}); err != nil {
				return err
			}
		}
		if _, err := w.WriteString(`<runstats><finished time="` + strconv.FormatInt(unixSeconds(start), 10) + `"/></runstats>` + "\n</nmaprun>\n"); err != nil {
			return err
		}
		return w.Flush()
	}
	return hw
}

func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func addrType(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}
