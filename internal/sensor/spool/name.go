package spool

import (
	"fmt"
	"strconv"
	"strings"
)

// name returns the file name of e's batch (see the package doc).
func (e Entry) name() string {
	return fmt.Sprintf("%020d-%016x-%020d-%d%s", e.CreatedNs, e.Epoch, e.Seq, e.Count, batchSuffix)
}

// parseName is the inverse of Entry.name; it accepts exactly the names
// name produces (Size is left zero).
func parseName(name string) (Entry, bool) {
	base, ok := strings.CutSuffix(name, batchSuffix)
	if !ok {
		return Entry{}, false
	}
	f := strings.Split(base, "-")
	if len(f) != 4 {
		return Entry{}, false
	}
	created, err1 := strconv.ParseInt(f[0], 10, 64)
	epoch, err2 := strconv.ParseUint(f[1], 16, 64)
	seq, err3 := strconv.ParseUint(f[2], 10, 64)
	count, err4 := strconv.ParseUint(f[3], 10, 32)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return Entry{}, false
	}
	e := Entry{CreatedNs: created, Epoch: epoch, Seq: seq, Count: uint32(count)}
	if e.name() != name { // leading signs, other widths, upper-case hex
		return Entry{}, false
	}
	return e, true
}
