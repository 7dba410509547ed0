package api

import (
	"context"
	"slices"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

type anonymousKey struct{}

// Anonymous marks ctx as the request of an anonymous visitor (the UI's
// public port graphs): group-top-ports and port-series then leave out
// every group, and the fleet, of fewer than minSensors sensors, whose
// numbers would be those of one sensor. The UI sets it; the API's own
// clients cannot.
func Anonymous(ctx context.Context, minSensors int) context.Context {
	return context.WithValue(ctx, anonymousKey{}, minSensors)
}

// minSensors is the smallest group an anonymous visitor may see (0: the
// request is not an anonymous visitor's).
func minSensors(ctx context.Context) int {
	n, _ := ctx.Value(anonymousKey{}).(int)
	return n
}

// groupTopPorts answers group-top-ports, without the groups too small for
// an anonymous visitor.
func (h *handler) groupTopPorts(ctx context.Context, q *query) (any, error) {
	ans, err := ask(h, AskGroupTopPorts)(ctx, q)
	least := minSensors(ctx)
	if err != nil || least == 0 {
		return ans, err
	}
	r := ans.(GroupTopPortsResponse)
	r.Groups = slices.DeleteFunc(r.Groups, func(g store.GroupPorts) bool { return g.Sensors < least })
	if r.Fleet.Sensors < least {
		r.Fleet = store.GroupPorts{Ports: []store.AvgRankedPort{}}
	}
	return r, nil
}

// hideSmallGroups leaves out of a port series, for an anonymous visitor,
// the series of groups (or of the fleet) of fewer sensors than allowed.
func (h *handler) hideSmallGroups(ctx context.Context, r PortSeriesResponse) (PortSeriesResponse, error) {
	least := minSensors(ctx)
	if least == 0 {
		return r, nil
	}
	sensors, err := h.st.Sensors(ctx)
	if err != nil {
		return r, err
	}
	members := map[string]int{}
	for _, s := range sensors {
		members[s.Group]++
	}
	r.Series = slices.DeleteFunc(r.Series, func(s store.Series) bool {
		switch r.By {
		case store.ByGroup.String():
			return members[s.Group] < least
		case store.ByFleet.String():
			return len(sensors) < least
		}
		return true // per sensor: never for an anonymous visitor
	})
	return r, nil
}
