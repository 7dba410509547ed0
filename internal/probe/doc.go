// Package probe owns Nightjar's own banner grabbing: `nightjar devices
// probe` fetches, from the top scanning sources of a period, the evidence
// an analyst used to fetch by hand — the page an HTTP or HTTPS port
// answers, the TLS certificate, the favicon's hashes — as banner.Records
// the devices package attributes models from.
//
// It contacts hosts Nightjar does not own, so it is built to be safe to
// run: it is off until the configuration opts in and names a contact URL
// (sent in a fixed User-Agent); it sends one GET of "/" per port and, when
// that answered HTTP, one GET of "/favicon.ico", never credentials or
// cookies, never following a redirect; it never contacts an excluded or
// non-global address; it caps the targets of a run, paces every connection
// through one global rate limit, bounds every connection's time and every
// body's size, and logs every request it makes and every target it skips.
package probe
