package store

import (
	"context"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// Questions are what a monitoring team asks of the store, for any period
// (see package period). Every question has a conformance test in
// store/storetest and a `nightjar query` subcommand.
type Questions interface {
	// TopPorts ranks, for each sensor, the destination ports of a period,
	// with each port's rank in the previous period of the same kind.
	TopPorts(ctx context.Context, q TopPortsQuery) ([]SensorPorts, error)
}

// TopPortsQuery asks for the top N ports per sensor of a period.
type TopPortsQuery struct {
	Period period.Period
	N      int
	// Sensors limits the answer to these sensor names; empty means all.
	Sensors []string
}

// SensorPorts is one sensor's column of the side-by-side table.
type SensorPorts struct {
	Sensor  string       `json:"sensor"`
	Group   string       `json:"group"`
	Packets uint64       `json:"packets"`
	Ports   []RankedPort `json:"top_ports"`
}

// RankedPort is a port's place in a period. PreviousRank is its rank among
// all the ports of the previous period, 0 when it had no packets then.
// Ranks order by packets descending, then label ascending.
type RankedPort struct {
	Rank         int    `json:"rank"`
	Port         string `json:"port"`
	Packets      uint64 `json:"packets"`
	PreviousRank int    `json:"previous_rank"`
}
