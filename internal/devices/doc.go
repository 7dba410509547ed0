// Package devices names the device model behind a source address from
// its banners: a signature database (YAML: the rules shipped in
// signatures/, Nightjar's own and those converted from Rapid7 recog, and
// the user's files, whose rules replace shipped ones of the same id), the
// matching of banner records against it, the attribution of one address
// from all its matches, and firmware release dates.
//
// # Rules
//
// A rule reads one banner field (banner.ParseField's names) with a Go
// regexp and names a vendor, a kind and, when it can, a model (fixed, or
// from a (?P<model>...) group) and a firmware version (a (?P<firmware>...)
// group, or a separate regexp on another field of the same record, e.g.
// the page's script). Its confidence says how sure the match alone is; its
// source where the rule comes from. Unknown keys and bad regexps are
// errors naming the file, the rule and the line.
//
// # Matching
//
// Rules are indexed by field. Each rule's regexp is parsed for literals
// one of which any match must contain (prefilter.go); an Aho-Corasick
// automaton per field finds them in one pass, and only the rules whose
// literal occurs run their regexp. What a field's value gave is cached,
// bounded (cache.go): titles, Server headers and whole login pages repeat
// across the devices of a model.
//
// # Attribution
//
// Attribute decides from every match of an address, on every port and
// from every source (see its doc for the exact order):
//
//   - a match naming a model beats one naming only a vendor;
//   - matches that agree (same vendor and model, or the vendor's
//     model-less matches) raise the confidence: 1 − Π(1 − cᵢ), each rule
//     counted once;
//   - two different devices (models, or vendors) each reaching
//     ConflictThreshold are a Conflict — a NAT'd address, or two devices —
//     reported with both, never silently resolved;
//   - a rule must be anchored on the device's own interface (a whole
//     title, a header's prefix, a certificate attribute), so that a page
//     that only mentions a vendor or a model attributes nothing;
//   - vendors have one spelling (NormalizeVendor: "TP-LINK" is TP-Link).
//
// # Firmware dates
//
// ReleaseDate knows the release dates its table cites, and the build date
// a version carries ("1.1.2 Build 20220113"); it never guesses.
package devices
