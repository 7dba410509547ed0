// Package conventions holds no code: its tests check the repository's
// conventions (every package documented, no init functions), the way
// CoreDNS checks its own.
package conventions
