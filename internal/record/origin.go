package record

import (
	"sync"
	"sync/atomic"
)

// Origin is what the enrich stage learnt of a record's source address when
// the packet was observed: its country and network from the GeoIP and ASN
// databases, and the research-scanner lists it is on. It is stored with
// the record, so a later database update does not rewrite history. The
// zero Origin is a source nobody knows (or a record not enriched).
type Origin struct {
	Country Country // "" when unknown
	ASN     uint32  // autonomous system number, 0 when unknown
	Org     Name    // the AS's organisation
	Scanner Name    // the research-scanner lists' labels, comma-joined
}

// Country is an ISO 3166-1 alpha-2 code held by value ("JP"); the zero
// Country is unknown.
type Country [2]byte

// CountryOf returns the Country of a two-letter code, upper-cased; the
// zero Country for anything else.
func CountryOf(code string) Country {
	if len(code) != 2 {
		return Country{}
	}
	var c Country
	for i := range 2 {
		b := code[i]
		switch {
		case b >= 'a' && b <= 'z':
			b -= 'a' - 'A'
		case b < 'A' || b > 'Z':
			return Country{}
		}
		c[i] = b
	}
	return c
}

// Code returns the country as a number, the two letters' bytes (0 when
// unknown): the store keeps it so, a string per packet costing more.
func (c Country) Code() uint16 { return uint16(c[0])<<8 | uint16(c[1]) }

// String returns the code, "" when unknown.
func (c Country) String() string {
	if c == (Country{}) {
		return ""
	}
	return string(c[:])
}

// Name is a handle to a string interned in a process-wide table: an AS
// organisation or a scanner label that many records share. It keeps
// Record free of pointers (see Addr) and costs four bytes. The zero Name
// is "". Names are never freed: the table holds the distinct names seen
// (tens of thousands of organisations at most), up to MaxNames.
type Name uint32

// MaxNames bounds the distinct names; Intern returns the zero Name beyond.
const MaxNames = namePages * namePageSize

const (
	namePageSize = 4096
	namePages    = 1024
)

var names struct {
	mu    sync.Mutex
	ids   map[string]Name
	pages [namePages]atomic.Pointer[[namePageSize]string]
	n     uint32 // names interned, the zero Name included
}

// Intern returns the Name of s, adding it to the table if it is new; the
// zero Name for "" and once MaxNames names are held. It allocates only for
// a new name.
func Intern(s string) Name {
	if s == "" {
		return 0
	}
	names.mu.Lock()
	defer names.mu.Unlock()
	if id, ok := names.ids[s]; ok {
		return id
	}
	if names.ids == nil {
		names.ids = map[string]Name{}
		names.n = 1
	}
	if names.n == MaxNames {
		return 0
	}
	id := Name(names.n)
	page := names.pages[id/namePageSize].Load()
	if page == nil {
		page = new([namePageSize]string)
		names.pages[id/namePageSize].Store(page)
	}
	page[id%namePageSize] = s
	names.ids[s] = id
	names.n++
	return id
}

// String returns the interned string; "" for the zero Name. It takes no
// lock: a Name was returned by Intern, which stored its string before.
func (n Name) String() string {
	if n == 0 || uint32(n) >= MaxNames {
		return ""
	}
	page := names.pages[n/namePageSize].Load()
	if page == nil {
		return ""
	}
	return page[n%namePageSize]
}
