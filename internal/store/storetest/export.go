package storetest

import (
	"encoding/csv"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fingerprint"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// runExports runs the conformance tests of the exports.
func runExports(t *testing.T, open Opener) {
	t.Run("export csv", func(t *testing.T) { testExportCSV(t, open(t)) })
	t.Run("export parquet", func(t *testing.T) { testExportParquet(t, open(t)) })
	t.Run("bad exports", func(t *testing.T) { testBadExports(t, open(t)) })
}

// exportAddrs are IPv6 addresses whose text form (RFC 5952) is easy to get
// wrong: zero runs at either end, two runs of equal length, single zero
// groups (never "::"), an IPv4-mapped address.
var exportAddrs = []string{
	"2001:db8::1", "::1", "::", "1::", "2001:db8:0:0:1:0:0:1", "2001:0:0:1:0:0:0:1",
	"::ffff:192.0.2.1", "fe80::1:0:0:0", "1:2:3:4:5:6:7:8", "1:0:1:0:1:0:1:0", "0:1::", "abcd:ef01::ff00",
}

// exportRecords returns records over July and August 2024 (and one in
// September, outside the exported period) at the sensors of twoSensors,
// with every column varied, and the IPv6 addresses above and random ones.
func exportRecords(t *testing.T, ids []int32) ([]record.Record, []int32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	var (
		recs    []record.Record
		sensors []int32
	)
	when := time.Date(2024, 7, 1, 0, 0, 0, 123456789, time.UTC)
	add := func(r record.Record, sensor int32) {
		r.Time = when.UnixNano()
		when = when.Add(47*time.Hour + 1234567*time.Nanosecond)
		recs = append(recs, r)
		sensors = append(sensors, sensor)
	}
	// IPv4: Mirai-like SYNs with options, ZMap, UDP, ICMP, a fragment.
	for i := range 8 {
		r := record.Record{
			Src: record.AddrFromUint32(rng.Uint32()), Dst: record.MustParseAddr("198.18.1.1"),
			IPVersion: 4, Protocol: record.ProtoTCP, TTL: uint8(40 + i), IPLen: 40 + uint16(i), IPID: rng.Uint32() & 0xffff,
			HasTransport: true, SrcPort: uint16(rng.Uint32()), DstPort: []uint16{23, 2323, 80, 445}[i%4],
			TCPFlags: []uint8{record.FlagSYN, record.FlagSYN | record.FlagACK, record.FlagRST, record.FlagFIN | record.FlagPSH | record.FlagURG | record.FlagECE | record.FlagCWR}[i%4],
		}
		r.Seq, r.Ack, r.Window = rng.Uint32(), rng.Uint32(), uint16(rng.Uint32())
		if i%4 == 0 {
			r.Seq = r.Dst.Uint32() // Mirai
		}
		for _, k := range [][]uint8{{}, {2}, {2, 1, 3, 4, 8}, {2, 1, 1, 4, 3, 8, 0, 30, 5, 1}}[i%4] {
			r.Options.AddKind(k)
		}
		r.Tags = fingerprint.Tag(&r)
		add(r, ids[0])
	}
	udp := record.Record{Src: record.MustParseAddr("192.0.2.55"), Dst: record.MustParseAddr("198.19.0.3"), IPVersion: 4,
		Protocol: record.ProtoUDP, TTL: 50, IPLen: 60, HasTransport: true, SrcPort: 5353, DstPort: 53}
	add(udp, ids[1])
	icmp := record.Record{Src: record.MustParseAddr("192.0.2.56"), Dst: record.MustParseAddr("198.19.0.3"), IPVersion: 4,
		Protocol: record.ProtoICMP, TTL: 50, IPLen: 28, HasTransport: true, SrcPort: 8, DstPort: 0}
	add(icmp, ids[1])
	frag := record.Record{Src: record.MustParseAddr("192.0.2.57"), Dst: record.MustParseAddr("198.19.0.3"), IPVersion: 4,
		Protocol: record.ProtoTCP, TTL: 50, IPLen: 1500, Fragment: true}
	add(frag, ids[1])
	gre := record.Record{Src: record.MustParseAddr("192.0.2.58"), Dst: record.MustParseAddr("198.19.0.3"), IPVersion: 4,
		Protocol: 47, TTL: 50, IPLen: 100}
	add(gre, ids[1])
	// IPv6 sources, to us-1's prefix.
	v6 := slices.Clone(exportAddrs)
	for range 20 {
		var b [16]byte
		for g := range 8 {
			if rng.IntN(2) == 0 {
				b[2*g], b[2*g+1] = byte(rng.Uint32()), byte(rng.Uint32())
			}
		}
		v6 = append(v6, netip.AddrFrom16(b).String())
	}
	for _, a := range v6 {
		r := record.Record{Src: record.MustParseAddr(a), Dst: record.MustParseAddr("2001:db8::" + strconv.Itoa(rng.IntN(9000)+1)),
			IPVersion: 6, Protocol: record.ProtoTCP, TTL: 60, IPLen: 60, HasTransport: true, SrcPort: 1, DstPort: 22, TCPFlags: record.FlagSYN}
		if r.Src.Is4() {
			t.Fatalf("%s parsed as IPv4", a)
		}
		add(r, ids[1])
	}
	return recs, sensors
}

// storeExportRecords stores exportRecords and returns them with the
// exported period: July and August 2024.
func storeExportRecords(t *testing.T, s store.Store) ([]record.Record, []string, period.Period) {
	t.Helper()
	ctx := t.Context()
	ids, err := s.PutSensors(ctx, twoSensors)
	if err != nil {
		t.Fatal(err)
	}
	recs, sensors := exportRecords(t, ids)
	if err := s.Append(ctx, recs, sensors); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := period.ParseRange("2024-07-01", "2024-08-31")
	if err != nil {
		t.Fatal(err)
	}
	names := map[int32]string{ids[0]: twoSensors[0].Name, ids[1]: twoSensors[1].Name}
	var in []record.Record
	var inNames []string
	for i, r := range recs {
		if r.Time >= p.Start.UnixNano() && r.Time < p.End.UnixNano() {
			in = append(in, r)
			inNames = append(inNames, names[sensors[i]])
		}
	}
	if len(in) == len(recs) || len(in) == 0 {
		t.Fatalf("%d of %d records in the period, want some but not all", len(in), len(recs))
	}
	return in, inNames, p
}

// ExportedRow is an exported row as text, in the columns of
// store.ExportQuery, computed from a record with package record's own
// functions: what every backend's export must hold. Backend and CLI tests
// use it to check files read back.
func ExportedRow(r *record.Record, sensor, group string) map[string]string {
	var flags []byte
	for i, letter := range "FSRPAUEC" {
		if r.TCPFlags&(1<<i) != 0 {
			flags = append(flags, byte(letter))
		}
	}
	version := "6"
	if r.Src.Is4() {
		version = "4"
	}
	return map[string]string{
		"time":           time.Unix(0, r.Time).UTC().Truncate(time.Microsecond).Format("2006-01-02 15:04:05.999999"),
		"time_ns":        strconv.FormatInt(r.Time, 10),
		"sensor":         sensor,
		"sensor_group":   group,
		"ip_version":     version,
		"src":            r.Src.String(),
		"dst":            r.Dst.String(),
		"protocol":       record.ProtocolName(r.Protocol),
		"proto":          strconv.Itoa(int(r.Protocol)),
		"src_port":       strconv.Itoa(int(r.SrcPort)),
		"dst_port":       strconv.Itoa(int(r.DstPort)),
		"port":           r.PortLabel(),
		"tcp_flags":      strconv.Itoa(int(r.TCPFlags)),
		"tcp_flag_names": string(flags),
		"seq":            strconv.FormatUint(uint64(r.Seq), 10),
		"ack":            strconv.FormatUint(uint64(r.Ack), 10),
		"window":         strconv.Itoa(int(r.Window)),
		"ip_id":          strconv.Itoa(int(r.IPID)),
		"ttl":            strconv.Itoa(int(r.TTL)),
		"ip_len":         strconv.Itoa(int(r.IPLen)),
		"tcp_options":    r.Options.Signature(),
		"fragment":       strconv.FormatBool(r.Fragment),
		"tags":           r.Tags.String(),
	}
}

func groupOf(sensor string) string {
	for _, s := range twoSensors {
		if s.Name == sensor {
			return s.Group
		}
	}
	return ""
}

func testExportCSV(t *testing.T, s store.Store) {
	defer s.Close()
	recs, names, p := storeExportRecords(t, s)
	dir := filepath.Join(t.TempDir(), "out")
	res, err := s.Export(t.Context(), store.ExportQuery{Period: p, Format: store.ExportCSV, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != uint64(len(recs)) || !slices.Equal(res.Months, []string{"2024-07", "2024-08"}) {
		t.Errorf("Export() = %+v, want %d rows in 2024-07 and 2024-08", res, len(recs))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "month=*", "*.csv"))
	var got []map[string]string
	perMonth := map[string]int{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(fh).ReadAll()
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		head := rows[0]
		if head[0] != "time" || !slices.Contains(head, "src") || !slices.Contains(head, "tags") {
			t.Errorf("%s: header %q, want time, ..., src, ..., tags", f, head)
		}
		for _, row := range rows[1:] {
			m := map[string]string{}
			for i, v := range row {
				m[head[i]] = v
			}
			got = append(got, m)
			perMonth[filepath.Base(filepath.Dir(f))]++
		}
	}
	var want []map[string]string
	wantMonth := map[string]int{}
	for i := range recs {
		want = append(want, ExportedRow(&recs[i], names[i], groupOf(names[i])))
		wantMonth["month="+time.Unix(0, recs[i].Time).UTC().Format("2006-01")]++
	}
	byTime := func(a, b map[string]string) int { return cmpNum(a["time_ns"], b["time_ns"]) }
	slices.SortFunc(got, byTime)
	slices.SortFunc(want, byTime)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("exported CSV rows (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(perMonth, wantMonth); diff != "" {
		t.Errorf("rows per month (-got, +want):\n%s", diff)
	}
}

func cmpNum(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return int(min(max(x-y, -1), 1))
}

func testExportParquet(t *testing.T, s store.Store) {
	defer s.Close()
	recs, _, p := storeExportRecords(t, s)
	dir := filepath.Join(t.TempDir(), "out")
	res, err := s.Export(t.Context(), store.ExportQuery{Period: p, Format: store.ExportParquet, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != uint64(len(recs)) || !slices.Equal(res.Months, []string{"2024-07", "2024-08"}) {
		t.Errorf("Export() = %+v, want %d rows in 2024-07 and 2024-08", res, len(recs))
	}
	for _, m := range res.Months {
		files, _ := filepath.Glob(filepath.Join(dir, "month="+m, "*.parquet"))
		if len(files) == 0 {
			t.Errorf("no Parquet file for %s", m)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil || len(b) < 8 || string(b[:4]) != "PAR1" || string(b[len(b)-4:]) != "PAR1" {
				t.Errorf("%s is not a Parquet file (%v)", f, err)
			}
		}
	}
	// A period without packets writes nothing, successfully.
	empty, _ := period.Parse("2020-01")
	res, err = s.Export(t.Context(), store.ExportQuery{Period: empty, Format: store.ExportParquet, Dir: filepath.Join(t.TempDir(), "none")})
	if err != nil || res.Rows != 0 || len(res.Months) != 0 {
		t.Errorf("Export(2020-01) = %+v, %v; want no rows, no error", res, err)
	}
}

func testBadExports(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := t.Context()
	p, _ := period.Parse("2024Q3")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(full, "month=2024-07"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    store.ExportQuery
		want string
	}{
		{"no dir", store.ExportQuery{Period: p, Format: store.ExportCSV}, "no output directory"},
		{"a file", store.ExportQuery{Period: p, Format: store.ExportCSV, Dir: file}, "is not a directory"},
		{"not empty", store.ExportQuery{Period: p, Format: store.ExportCSV, Dir: full}, "is not empty"},
		{"missing parent", store.ExportQuery{Period: p, Format: store.ExportCSV, Dir: filepath.Join(dir, "a", "b")}, "create output directory"},
		{"bad format", store.ExportQuery{Period: p, Format: "xlsx", Dir: filepath.Join(dir, "x")}, `unknown export format "xlsx"`},
		{"empty period", store.ExportQuery{Format: store.ExportCSV, Dir: filepath.Join(dir, "y")}, "empty period"},
	} {
		_, err := s.Export(ctx, c.q)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Export(%s) error = %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
