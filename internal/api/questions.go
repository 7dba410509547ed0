package api

import (
	"context"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The store's questions, asked the same way by the API and by `nightjar
// query`: each turns Params into the store's query, asks the store and
// wraps its answer in the response both give (responses.go). The API
// reads Params from a request's query string, the CLI from its flags,
// under the same names. When err is not nil, the response is not an
// answer.

// Params are the parameters of the questions; each reads those it needs.
type Params struct {
	Period period.Period
	// Top (top) is how many ports or sources a ranking answers.
	Top int
	// Sensors (sensor) and Groups (group) limit an answer; empty: all.
	Sensors, Groups []string
	// Ports (port) are the port labels of a port series (23/TCP, ICMP).
	Ports []string
	// Resolution (resolution) and By (by) shape a port series.
	Resolution store.Resolution
	By         store.By
	// Daily (daily) puts the days of group averages, not the months, in
	// their CSV and table.
	Daily bool
	// Kind (kind) is what origins ranks: countries or ASes.
	Kind store.OriginKind
	// Origin (country, asn, prefix, scanner) limits top sources and names
	// the origin of origin-ports.
	Origin store.OriginFilter
	// Verdict (verdict) limits top sources to benign, malicious or
	// unknown ones.
	Verdict string
	// Tag (tag) and Vendor (vendor) limit the devices to the sources that
	// earned a tag and to one vendor; Bucket (bucket) is a device
	// series' day or month ("": chosen by the period's length).
	Tag, Vendor, Bucket string
}

// DefaultParams are the values of the parameters not given.
func DefaultParams() Params {
	return Params{Top: 10, Resolution: store.Day, By: store.BySensor, Kind: store.ByCountry}
}

// AskTopPorts answers top-ports: the top ports of each sensor.
func AskTopPorts(ctx context.Context, st store.Questions, p Params) (TopPortsResponse, error) {
	ans, err := st.TopPorts(ctx, store.TopPortsQuery{Period: p.Period, N: p.Top, Sensors: p.Sensors})
	return NewTopPortsResponse(p.Period, ans), err
}

// AskGroupTopPorts answers group-top-ports: the top ports of each group
// and of the fleet.
func AskGroupTopPorts(ctx context.Context, st store.Questions, p Params) (GroupTopPortsResponse, error) {
	ans, err := st.GroupTopPorts(ctx, store.GroupTopPortsQuery{Period: p.Period, N: p.Top, Groups: p.Groups})
	return NewGroupTopPortsResponse(p.Period, ans), err
}

// AskGroupAverages answers group-averages: each group's average packets
// per sensor by month and day.
func AskGroupAverages(ctx context.Context, st store.Questions, p Params) (GroupAveragesResponse, error) {
	ans, err := st.GroupAverages(ctx, store.GroupAveragesQuery{Period: p.Period, Groups: p.Groups})
	return NewGroupAveragesResponse(p.Period, ans, p.Daily), err
}

// AskPortSeries answers port-series: packets to ports over time.
func AskPortSeries(ctx context.Context, st store.Questions, p Params) (PortSeriesResponse, error) {
	ans, err := st.PortSeries(ctx, seriesQuery(p))
	return NewPortSeriesResponse(p.Period, p.By, ans), err
}

func seriesQuery(p Params) store.PortSeriesQuery {
	return store.PortSeriesQuery{Period: p.Period, Resolution: p.Resolution, Ports: p.Ports, By: p.By, Sensors: p.Sensors, Groups: p.Groups}
}

// AskTopSources answers top-sources: the top source addresses.
func AskTopSources(ctx context.Context, st store.Questions, p Params) (TopSourcesResponse, error) {
	ans, err := st.TopSources(ctx, store.TopSourcesQuery{Period: p.Period, N: p.Top, Sensors: p.Sensors, Origin: p.Origin, Verdict: p.Verdict})
	return NewTopSourcesResponse(p.Period, ans), err
}

// AskOrigins answers origins: the top countries or ASes of the sources,
// per sensor, per group or for the fleet, with the previous period's rank.
func AskOrigins(ctx context.Context, st store.Questions, p Params) (OriginsResponse, error) {
	ans, err := st.Origins(ctx, store.OriginsQuery{Period: p.Period, Kind: p.Kind, N: p.Top, By: p.By, Sensors: p.Sensors, Groups: p.Groups})
	return OriginsResponse{p.Period.String(), ans}, err
}

// AskOriginPorts answers origin-ports: the ports the sources of one
// country, AS, prefix or scanner list sent to, by sources.
func AskOriginPorts(ctx context.Context, st store.Questions, p Params) (OriginPortsResponse, error) {
	ans, err := st.OriginPorts(ctx, store.OriginPortsQuery{Period: p.Period, Origin: p.Origin, N: p.Top, Sensors: p.Sensors})
	return OriginPortsResponse{p.Period.String(), p.Origin.String(), ans}, err
}

// AskDevices answers devices: the device models of the period's
// sources.
func AskDevices(ctx context.Context, st store.Questions, p Params) (DevicesResponse, error) {
	ans, err := st.Devices(ctx, store.DevicesQuery{Period: p.Period, N: p.Top, Sensors: p.Sensors, Groups: p.Groups, Tag: p.Tag, Vendor: p.Vendor})
	return DevicesResponse{p.Period.String(), ans}, err
}

// AskDeviceSeries answers device-series: the sources of the top models
// per day or month.
func AskDeviceSeries(ctx context.Context, st store.Questions, p Params) (DeviceSeriesResponse, error) {
	ans, err := st.DeviceSeries(ctx, store.DeviceSeriesQuery{Period: p.Period, N: p.Top, Bucket: p.Bucket, Sensors: p.Sensors, Groups: p.Groups, Tag: p.Tag, Vendor: p.Vendor})
	return DeviceSeriesResponse{p.Period.String(), ans}, err
}

// AskPortSources answers port-sources: the top ports with their distinct
// sources and Mirai share.
func AskPortSources(ctx context.Context, st store.Questions, p Params) (PortSourcesResponse, error) {
	ans, err := st.PortSources(ctx, store.PortSourcesQuery{Period: p.Period, N: p.Top, Sensors: p.Sensors})
	return NewPortSourcesResponse(p.Period, ans), err
}

// AskTags answers tags: packets per fingerprint tag.
func AskTags(ctx context.Context, st store.Questions, p Params) (TagsResponse, error) {
	ans, err := st.TagCounts(ctx, store.TagCountsQuery{Period: p.Period, Sensors: p.Sensors})
	return NewTagsResponse(p.Period, ans), err
}

// AskSensors answers sensors: every sensor with its latest health.
func AskSensors(ctx context.Context, st Store) (SensorsResponse, error) {
	sensors, err := st.Sensors(ctx)
	if err != nil {
		return SensorsResponse{}, err
	}
	health, err := st.Health(ctx)
	return NewSensorsResponse(sensors, health), err
}
