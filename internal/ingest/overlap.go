package ingest

import (
	"fmt"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/store"
)

// Overlap is a period that a file's packets of a sensor share with those
// of another import.
type Overlap struct {
	Sensor   string
	Import   store.Import // the other import
	From, To time.Time    // the common period, inclusive
}

// Overlaps are a file's overlaps, grouped by the other import.
type Overlaps []Overlap

// shown bounds how many imports, and sensors of each, a description of
// overlaps names: a capture of a large fleet overlaps for every sensor.
const shown = 3

// String describes the overlaps in a sentence: "its packets of jp-1 from
// … to … overlap those of day1.pcap, imported on …".
func (o Overlaps) String() string {
	var (
		b       strings.Builder
		imports int
	)
	for i := 0; i < len(o); {
		j := i + 1
		for j < len(o) && o[j].Import.Key == o[i].Import.Key {
			j++
		}
		if imports++; imports > shown {
			i = j
			continue
		}
		if imports > 1 {
			b.WriteString("; ")
		}
		b.WriteString("its packets of ")
		for k, ov := range o[i:min(j, i+shown)] {
			if k > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s from %s to %s", ov.Sensor, ov.From.Format(time.DateTime), ov.To.Format(time.DateTime))
		}
		if j-i > shown {
			fmt.Fprintf(&b, " and %d more sensors", j-i-shown)
		}
		fmt.Fprintf(&b, " overlap those of %s, imported on %s", o[i].Import.Path, o[i].Import.Imported.Format(time.DateTime))
		i = j
	}
	if imports > shown {
		fmt.Fprintf(&b, "; and those of %d more imports", imports-shown)
	}
	return b.String()
}

// OverlapError: File refused a file whose packets overlap other imports'
// (without Ingester.Force). Nothing of the file is stored.
type OverlapError struct {
	Path     string
	Overlaps Overlaps
}

func (e *OverlapError) Error() string {
	return fmt.Sprintf("%s: refused: %s; nothing of it is stored", e.Path, e.Overlaps)
}
