package deliver

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// The words of a notification that the mail and Slack formats share.

// hourText is an alert's hour as a person reads it.
func hourText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// num prints a count whole and a score with one decimal.
func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// evidenceText is the observation against its baseline, "" when the alert
// has none (a health alert may not).
func evidenceText(e store.Evidence) string {
	if e.Measure == "" {
		return ""
	}
	s := fmt.Sprintf("%s %s at %s against a baseline of %s", num(e.Observed), e.Measure, hourText(e.Hour), num(e.Baseline))
	var how []string
	if e.Method != "" {
		how = append(how, e.Method)
	}
	if e.Spread != 0 || e.Score != 0 {
		how = append(how, "spread "+num(e.Spread)+", score "+num(e.Score))
	}
	if len(how) > 0 {
		s += " (" + strings.Join(how, "; ") + ")"
	}
	return s
}

// peerTexts are what the other sensors or groups saw in the hour of the
// change: one line each.
func peerTexts(e store.Evidence) []string {
	lines := make([]string, len(e.Others))
	for i, p := range e.Others {
		who := store.Scope{Sensor: p.Sensor, Group: p.Group}.String()
		lines[i] = fmt.Sprintf("%s: %s against a baseline of %s (score %s)", who, num(p.Observed), num(p.Baseline), num(p.Score))
	}
	return lines
}

// eventTitle is "critical alert opened".
func eventTitle(n store.Notification) string {
	return fmt.Sprintf("%s alert %s", n.Alert.Severity, n.Event)
}

// researchNote says why a research alert is not malicious.
const researchNote = "the activity of listed research scanners, not malicious in itself"
