package store

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/portcount"
	"github.com/nightjar-telescope/nightjar/internal/record"
)

// testSensors are three sensors in ID order, their groups interleaved.
func testSensors() []Sensor {
	sen := func(id int32, name, group string) Sensor {
		return Sensor{Sensor: fleet.Sensor{Name: name, Group: group}, ID: id}
	}
	return []Sensor{sen(1, "jp-1", "Japan"), sen(2, "us-1", "overseas"), sen(3, "jp-2", "Japan")}
}

func names(sensors []Sensor) []string {
	var out []string
	for _, s := range sensors {
		out = append(out, s.Name)
	}
	return out
}

func TestSelectSensors(t *testing.T) {
	t.Parallel()
	all := testSensors()
	got, err := SelectSensors(all, []string{"jp-2", "jp-1", "jp-2"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(names(got), []string{"jp-1", "jp-2"}); diff != "" {
		t.Errorf("SelectSensors() (-got, +want):\n%s", diff)
	}
	if got, _ := SelectSensors(all, nil); len(got) != 3 {
		t.Errorf("SelectSensors(none named) = %v, want all 3", names(got))
	}
	if _, err := SelectSensors(all, []string{"jp-1", "mars-1"}); !errors.Is(err, ErrUnknownSensor) {
		t.Errorf("SelectSensors(mars-1) = %v, want ErrUnknownSensor", err)
	}
}

func TestSelectGroups(t *testing.T) {
	t.Parallel()
	all := testSensors()
	groups, err := SelectGroups(all, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	var order []string
	for _, g := range groups {
		order = append(order, g.Name)
		got[g.Name] = names(g.Sensors)
	}
	if diff := cmp.Diff(order, []string{"Japan", "overseas"}); diff != "" {
		t.Errorf("SelectGroups() order (-got, +want):\n%s", diff)
	}
	if diff := cmp.Diff(got, map[string][]string{"Japan": {"jp-1", "jp-2"}, "overseas": {"us-1"}}); diff != "" {
		t.Errorf("SelectGroups() members (-got, +want):\n%s", diff)
	}
	if groups, _ := SelectGroups(all, []string{"overseas"}); len(groups) != 1 || groups[0].Name != "overseas" {
		t.Errorf("SelectGroups(overseas) = %v", groups)
	}
	if _, err := SelectGroups(all, []string{"Mars"}); !errors.Is(err, ErrUnknownGroup) {
		t.Errorf("SelectGroups(Mars) = %v, want ErrUnknownGroup", err)
	}
}

func TestRankSlots(t *testing.T) {
	t.Parallel()
	slot := func(label string) int32 {
		k, err := portcount.ParseLabel(label)
		if err != nil {
			t.Fatal(err)
		}
		return int32(k)
	}
	got := RankSlots(map[int32]uint64{slot("80/TCP"): 5, slot("23/TCP"): 9, slot("443/TCP"): 5, slot("ICMP"): 1})
	want := []portcount.Count{{Port: "23/TCP", Packets: 9}, {Port: "443/TCP", Packets: 5}, {Port: "80/TCP", Packets: 5}, {Port: "ICMP", Packets: 1}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("RankSlots() (-got, +want), ties by label:\n%s", diff)
	}
	if err := CheckTop("top ports", 0); err == nil {
		t.Error("CheckTop(0) = nil, want an error")
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	zeros := TagMap(nil)
	if len(zeros) != len(record.AllTags()) || zeros["mirai"] != 0 {
		t.Errorf("TagMap(nil) = %v, want every tag, zero", zeros)
	}
	var counts [16]uint64
	counts[record.TagMirai.Index()] = 7
	if got := TagMap(&counts)["mirai"]; got != 7 {
		t.Errorf("TagMap()[mirai] = %d, want 7", got)
	}
	if got := TagNames(0); got == nil || len(got) != 0 {
		t.Errorf("TagNames(0) = %#v, want empty, not nil", got)
	}
	if diff := cmp.Diff(TagNames(uint16(record.TagMirai)), []string{"mirai"}); diff != "" {
		t.Errorf("TagNames(mirai) (-got, +want):\n%s", diff)
	}
}

func TestSeriesFrame(t *testing.T) {
	t.Parallel()
	all := testSensors()
	day := period.Period{Start: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 7, 3, 0, 0, 0, 0, time.UTC), Kind: period.Custom}
	q := PortSeriesQuery{Period: day, Resolution: Day, Ports: []string{"23/tcp", "23/TCP", "ICMP"}, By: ByGroup}
	f, err := NewSeriesFrame(q, all)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Slots()) != 2 {
		t.Fatalf("Slots() = %v, want 23/TCP and ICMP once each", f.Slots())
	}
	tcp23 := f.Slots()[0]
	f.Add(1, tcp23, day.Start.Add(time.Hour), 2)    // jp-1, day 1
	f.Add(3, tcp23, day.Start.Add(25*time.Hour), 3) // jp-2, day 2
	f.Add(2, tcp23, day.Start, 4)                   // us-1, day 1
	f.Add(1, tcp23, day.End, 100)                   // after the period
	f.Add(9, tcp23, day.Start, 100)                 // no such sensor
	f.Add(1, f.Slots()[1]+1000, day.Start, 100)     // a port not asked
	got := map[string][]uint64{}
	for _, s := range f.Answer().Series {
		got[s.Group+" "+s.Port] = s.Packets
	}
	want := map[string][]uint64{"Japan 23/TCP": {2, 3}, "Japan ICMP": {0, 0}, "overseas 23/TCP": {4, 0}, "overseas ICMP": {0, 0}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("Answer() (-got, +want):\n%s", diff)
	}

	for _, tt := range []struct {
		name string
		q    PortSeriesQuery
		want string
	}{
		{"no port", PortSeriesQuery{Period: day, Resolution: Day, By: BySensor}, "no port given"},
		{"bad port", PortSeriesQuery{Period: day, Resolution: Day, By: BySensor, Ports: []string{"23/ICMP"}}, "only TCP and UDP have ports"},
		{"groups by sensor", PortSeriesQuery{Period: day, Resolution: Day, By: BySensor, Ports: []string{"ICMP"}, Groups: []string{"Japan"}}, "split by group"},
		{"sensors by fleet", PortSeriesQuery{Period: day, Resolution: Day, By: ByFleet, Ports: []string{"ICMP"}, Sensors: []string{"jp-1"}}, "split by sensor"},
		{"unknown sensor", PortSeriesQuery{Period: day, Resolution: Day, By: BySensor, Ports: []string{"ICMP"}, Sensors: []string{"mars-1"}}, "unknown sensor"},
		{"no resolution", PortSeriesQuery{Period: day, By: BySensor, Ports: []string{"ICMP"}}, "unknown resolution"},
	} {
		if _, err := NewSeriesFrame(tt.q, all); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewSeriesFrame() = %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}
