// Package conventions holds no code: its tests check the repository's
// conventions (every package documented and listed in the README's layout,
// no init functions, nothing read from outside the repository, snake_case
// log keys), the way CoreDNS checks its own.
package conventions
