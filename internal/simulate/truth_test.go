package simulate

import (
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTagsOver: a source's tags over a period come from its packets of
// that period, summed over its months, never from the tags of the months
// apart.
func TestTagsOver(t *testing.T) {
	t.Parallel()
	s := &SourceTruth{Months: map[string]SourceCount{
		"2024-07": {Packets: 3, TagPackets: map[string]uint64{"zmap": 3, "mirai": 1}},
		"2024-08": {Packets: 10, TagPackets: map[string]uint64{"backscatter": 1}},
		"2024-09": {Packets: 2, TagPackets: map[string]uint64{"zmap": 1}},
	}}
	tests := []struct {
		months []string
		want   []string
	}{
		{months: []string{"2024-07"}, want: []string{"mirai", "zmap"}},
		{months: []string{"2024-09"}, want: []string{}}, // one zmap packet: not enough
		{months: []string{"2024-07", "2024-09"}, want: []string{"mirai", "zmap"}},
		{months: []string{"2024-07", "2024-08"}, want: []string{"backscatter", "mirai"}}, // 3 zmap packets of 13
		{months: []string{"2024-06"}, want: []string{}},
		{months: nil, want: []string{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(s.TagsOver(tt.months...), tt.want); diff != "" {
			t.Errorf("TagsOver(%q) (-got, +want):\n%s", tt.months, diff)
		}
	}
}

// TestSourceMonthsAddUp: over a simulated run, each source's months add
// up to its packets and tag packets, and its tags over all of them are
// its Tags.
func TestSourceMonthsAddUp(t *testing.T) {
	t.Parallel()
	_, truth := simulate(t, testConfig())
	spanning := 0
	for ip, s := range truth.Sources {
		var packets uint64
		tagPackets := map[string]uint64{}
		for _, c := range s.Months {
			packets += c.Packets
			for tag, n := range c.TagPackets {
				tagPackets[tag] += n
			}
		}
		if packets != s.Packets || !maps.Equal(tagPackets, s.TagPackets) {
			t.Errorf("source %s: months add up to %d packets, %v; want %d, %v", ip, packets, tagPackets, s.Packets, s.TagPackets)
		}
		if diff := cmp.Diff(s.TagsOver(slices.Collect(maps.Keys(s.Months))...), s.Tags); diff != "" {
			t.Errorf("source %s: TagsOver(every month) (-got, +want):\n%s", ip, diff)
		}
		if len(s.Months) > 1 {
			spanning++
		}
	}
	if spanning == 0 {
		t.Error("no source sends in two months: the test checks no sum")
	}
}
