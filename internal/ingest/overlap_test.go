package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/capfile"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// TestFileOverlap: a copy of an imported capture cut short has content of
// its own, but its packets of each sensor lie in the period that sensor
// has from the first import: it is refused, storing nothing, unless
// Force, which imports it and reports the overlaps.
func TestFileOverlap(t *testing.T) {
	f := importedCapture(t, 2_000)
	path, data, st, in, truth := f.path, f.data, f.st, f.in, f.truth
	first := st.imports
	cut := writeTemp(t, "cut.pcap", data[:len(data)/2+7]) // in the middle of a packet

	res, err := in.File(t.Context(), cut, nil)
	var refused *OverlapError
	if !errors.As(err, &refused) || refused.Path != cut {
		t.Fatalf("File(cut copy) = %v, want an *OverlapError of %s", err, cut)
	}
	if len(st.recs) != int(truth.Packets) || len(st.pending) != 0 || len(st.imports) != 1 {
		t.Errorf("after the refusal: %d records stored, %d pending, %d imports; want %d, 0, 1", len(st.recs), len(st.pending), len(st.imports), truth.Packets)
	}
	for _, ov := range res.Overlaps {
		if ov.Import.Path != path || ov.From.After(ov.To) {
			t.Errorf("overlap %+v: want one with %s, From before To", ov, path)
		}
	}
	if len(res.Overlaps) == 0 {
		t.Fatal("File(cut copy) reports no overlaps")
	}
	if msg, want := err.Error(), cut+": refused: its packets of "+res.Overlaps[0].Sensor+" from "; !strings.HasPrefix(msg, want) ||
		!strings.Contains(msg, " overlap those of "+path+", imported on 2026-01-02 03:04:07") || !strings.HasSuffix(msg, "; nothing of it is stored") {
		t.Errorf("error %q; want %q... naming %s and its import time, ending with what was stored", msg, want, path)
	}

	in.Force = true
	forced, err := in.File(t.Context(), cut, nil)
	if !errors.Is(err, capfile.ErrTruncated) || errors.As(err, &refused) {
		t.Fatalf("File(cut copy) with Force = %v, want the read error of the cut packet", err)
	}
	if diff := cmp.Diff(forced.Overlaps, res.Overlaps); diff != "" {
		t.Errorf("overlaps with Force (-got, +without Force):\n%s", diff)
	}
	if forced.Packets == 0 || len(st.recs) != int(truth.Packets+forced.Packets) || len(st.imports) != 2 {
		t.Errorf("with Force: %d packets, %d records stored, %d imports; want the cut's stored too, 2 imports", forced.Packets, len(st.recs), len(st.imports))
	}
	for key := range first {
		delete(st.imports, key)
	}
	for _, imp := range st.imports {
		if imp.Path != cut || len(imp.Spans) == 0 {
			t.Errorf("the forced import %+v: want %s with its spans", imp, cut)
		}
	}
}

// TestOverlapsString: a description names each import and its sensors'
// common periods, up to a few of each.
func TestOverlapsString(t *testing.T) {
	at := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	imp := func(n int) store.Import {
		return store.Import{Key: string(rune('a' + n)), Path: "/d/" + string(rune('a'+n)) + ".pcap", Imported: at.AddDate(0, 1, n)}
	}
	ov := func(sensor string, n int) Overlap {
		return Overlap{Sensor: sensor, Import: imp(n), From: at, To: at.Add(time.Hour)}
	}
	for _, tc := range []struct {
		name string
		o    Overlaps
		want string
	}{
		{"one", Overlaps{ov("jp-1", 0)},
			"its packets of jp-1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00 overlap those of /d/a.pcap, imported on 2024-08-01 00:00:00"},
		{"two sensors, two imports", Overlaps{ov("jp-1", 0), ov("us-1", 0), ov("jp-1", 1)},
			"its packets of jp-1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00, us-1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00 overlap those of /d/a.pcap, imported on 2024-08-01 00:00:00; " +
				"its packets of jp-1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00 overlap those of /d/b.pcap, imported on 2024-08-02 00:00:00"},
		{"many sensors, many imports", Overlaps{ov("s1", 0), ov("s2", 0), ov("s3", 0), ov("s4", 0), ov("s5", 0), ov("s1", 1), ov("s1", 2), ov("s1", 3), ov("s1", 4)},
			"its packets of s1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00, s2 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00, s3 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00 and 2 more sensors overlap those of /d/a.pcap, imported on 2024-08-01 00:00:00; " +
				"its packets of s1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00 overlap those of /d/b.pcap, imported on 2024-08-02 00:00:00; " +
				"its packets of s1 from 2024-07-01 00:00:00 to 2024-07-01 01:00:00 overlap those of /d/c.pcap, imported on 2024-08-03 00:00:00; and those of 2 more imports"},
	} {
		if got := tc.o.String(); got != tc.want {
			t.Errorf("%s: String() (-got, +want):\n%s", tc.name, cmp.Diff(got, tc.want))
		}
	}
}
