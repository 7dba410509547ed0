// Package origins says where a source address comes from: its country and
// its network (autonomous system number and organisation), read from the
// .mmdb databases a user points Nightjar at — MaxMind GeoLite2/GeoIP2
// Country, City and ASN, DB-IP Lite (the same layout) and IPinfo Lite
// (country_code, asn "AS13335", as_name) — with
// github.com/oschwald/maxminddb-golang/v2.
//
// A Set answers from several databases at once (a country one and an ASN
// one, typically): each field comes from the first database, in the order
// given, that knows it. A Watcher reopens the files when they change, so a
// weekly GeoLite2 update needs no restart; a file that fails to open keeps
// the previous databases in service and reports why.
package origins

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Origin is what the databases say of one address. The zero Origin is an
// address none of them knows.
type Origin struct {
	Country string // ISO 3166-1 alpha-2 code ("JP"), "" if unknown
	ASN     uint32 // autonomous system number, 0 if unknown
	Org     string // the autonomous system's organisation, "" if unknown
}

// Database describes one opened file.
type Database struct {
	Path  string
	Type  string    // the file's database_type ("GeoLite2-ASN", "ipinfo_lite", ...)
	Built time.Time // the file's build_epoch
}

// Set is a list of open databases. It is safe for concurrent lookups;
// Close it once no lookup runs.
type Set struct {
	readers []*maxminddb.Reader
	dbs     []Database
}

// Open opens the databases at paths. A file that is missing, is not a
// MaxMind DB, or whose search tree or data section is corrupt (every
// node and record is verified, which reads the whole file) fails with an
// error that names it.
func Open(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("origins: no database given")
	}
	if len(paths) > MaxDatabases {
		return nil, fmt.Errorf("origins: %d databases given, at most %d are used at once", len(paths), MaxDatabases)
	}
	s := &Set{}
	for _, p := range paths {
		r, err := openVerified(p)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open GeoIP/ASN database %s: %w", p, err)
		}
		s.readers = append(s.readers, r)
		s.dbs = append(s.dbs, Database{Path: p, Type: r.Metadata.DatabaseType, Built: r.Metadata.BuildTime().UTC()})
	}
	return s, nil
}

// openVerified reads the database at path into memory and verifies its
// search tree and every data record. Read, not mapped: an update written
// over the file in place would change a mapped database under its
// lookups. The format requires a description in the metadata, which some
// publishers omit; that alone is not refused.
func openVerified(path string) (*maxminddb.Reader, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, err
	}
	if len(r.Metadata.Description) == 0 {
		r.Metadata.Description = map[string]string{"": "(none)"}
	}
	if err := r.Verify(); err != nil {
		r.Close()
		return nil, fmt.Errorf("corrupt: %w", err)
	}
	return r, nil
}

// Databases returns the open files, in lookup order.
func (s *Set) Databases() []Database { return append([]Database(nil), s.dbs...) }

// fields are the keys of the supported layouts. MaxMind and DB-IP nest the
// country; IPinfo Lite keeps it flat, and writes the ASN as text.
type fields struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	ASN    uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
	Code   string `maxminddb:"country_code"` // IPinfo Lite
	ASText string `maxminddb:"asn"`          // IPinfo Lite: "AS13335"
	ASName string `maxminddb:"as_name"`      // IPinfo Lite
}

// MaxDatabases is the most databases a Set holds: a country, a city, an
// ASN and an IPinfo database, say.
const MaxDatabases = 4

// Location names the data record of an address in each database of a
// Set (its offset in the data section), or none. The addresses of one
// network share their record, so a Location is what a cache of decoded
// origins keys on: a telescope sees millions of sources but a database
// holds a few hundred thousand records.
type Location [MaxDatabases]uintptr

// notFound marks a database that does not hold the address.
const notFound = ^uintptr(0)

// Locate returns where the databases hold a. It walks each search tree
// and allocates nothing.
func (s *Set) Locate(a netip.Addr) (Location, error) {
	var l Location
	a = a.Unmap()
	for i := range l {
		l[i] = notFound
		if i >= len(s.readers) {
			continue
		}
		res := s.readers[i].Lookup(a)
		if err := res.Err(); err != nil {
			return l, fmt.Errorf("look up %s in %s: %w", a, s.dbs[i].Path, err)
		}
		if res.Found() {
			l[i] = res.Offset()
		}
	}
	return l, nil
}

// Decode returns the origin the records of l say: each field from the
// first database, in the order of the Set, that has it.
func (s *Set) Decode(l Location) (Origin, error) {
	var o Origin
	for i, r := range s.readers {
		if l[i] == notFound {
			continue
		}
		var f fields
		if err := r.LookupOffset(l[i]).Decode(&f); err != nil {
			return o, fmt.Errorf("decode the record at offset %d of %s: %w", l[i], s.dbs[i].Path, err)
		}
		asn, org, code := f.ASN, f.Org, f.Country.ISOCode
		if f.ASText != "" {
			n, err := parseASN(f.ASText)
			if err != nil {
				return o, fmt.Errorf("decode the record at offset %d of %s: %w", l[i], s.dbs[i].Path, err)
			}
			asn = n
		}
		if org == "" {
			org = f.ASName
		}
		if code == "" {
			code = f.Code
		}
		if o.Country == "" {
			o.Country = strings.ToUpper(code)
		}
		if o.ASN == 0 && asn != 0 {
			o.ASN, o.Org = asn, org
		}
	}
	return o, nil
}

// Lookup returns what the databases say of a. An address that no database
// holds is the zero Origin, not an error; a record that cannot be decoded
// is an error naming the database.
func (s *Set) Lookup(a netip.Addr) (Origin, error) {
	l, err := s.Locate(a)
	if err != nil {
		return Origin{}, err
	}
	return s.Decode(l)
}

// parseASN reads an AS number written "AS13335" (or "13335").
func parseASN(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(s), "AS"), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("AS number %q: want AS followed by a number", s)
	}
	return uint32(n), nil
}

// Close closes every database.
func (s *Set) Close() error {
	var errs []error
	for _, r := range s.readers {
		errs = append(errs, r.Close())
	}
	s.readers = nil
	return errors.Join(errs...)
}
