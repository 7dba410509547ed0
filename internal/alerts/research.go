package alerts

import (
	"context"
	"fmt"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// SourceQuestions are what Research reads of the store.
type SourceQuestions interface {
	Sensors(ctx context.Context) ([]store.Sensor, error)
	TopSources(ctx context.Context, q store.TopSourcesQuery) ([]store.Source, error)
}

// researchTop is how many of a port's top sources Research weighs: a
// port's packets are mostly its top sources'.
const researchTop = 50

// Research returns the engine's research test: a change of a port is
// the research scanners' when, of the packets of its top sources to the
// port in the hour at the scope's sensors, at least half are from
// sources on a research-scanner list.
func Research(st SourceQuestions) func(ctx context.Context, f Finding) (bool, error) {
	return func(ctx context.Context, f Finding) (bool, error) {
		p, err := period.Range(f.Hour, f.Hour.Add(time.Hour))
		if err != nil {
			return false, err
		}
		var sensors []string
		switch {
		case f.Scope.Sensor != "":
			sensors = []string{f.Scope.Sensor}
		case f.Scope.Group != "":
			all, err := st.Sensors(ctx)
			if err != nil {
				return false, err
			}
			for _, sen := range all {
				if sen.Group == f.Scope.Group {
					sensors = append(sensors, sen.Name)
				}
			}
			if len(sensors) == 0 {
				return false, fmt.Errorf("%w: %q", store.ErrUnknownGroup, f.Scope.Group)
			}
		}
		top, err := st.TopSources(ctx, store.TopSourcesQuery{Period: p, N: researchTop, Sensors: sensors, Port: f.Scope.Port})
		if err != nil {
			return false, err
		}
		var all, research uint64
		for _, s := range top {
			all += s.Packets
			if s.Scanner != "" {
				research += s.Packets
			}
		}
		return all > 0 && 2*research >= all, nil
	}
}
