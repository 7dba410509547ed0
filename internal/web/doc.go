// Package web is Nightjar's dashboard: the HTML pages, their JavaScript and
// CSS, the vendored ECharts library (all embedded in the binary: the UI never
// loads anything from the network), and access control — viewer and admin
// users, sessions, CSRF protection, login rate limiting, the listening-address
// rule — in front of the JSON API (package api) and of the admin actions
// (sensor enrollment and revocation through package pki; acknowledging,
// resolving and silencing alerts through package alerts and the store).
//
// A program mounts the whole UI with New:
//
//	users, err := web.OpenUsers("users.yaml")            // optional
//	h := web.New(web.Options{
//		API:      api.New(store, api.Options{}),          // served under /api/v1/
//		Registry: registry,                               // optional: enables enrollment
//		Users:    users,                                  // nil: read-only for everyone
//		Secure:   tlsEnabled,
//	})
//	srv := &http.Server{Addr: web.DefaultListen, Handler: h}
//
// and checks its listening address first with CheckListen. Pages:
//
//	/                 overview: packets today and this period, active sensors,
//	                  fleet top ports with rank change, the last 90 days
//	/alerts           the alerts of the period, one with its evidence; admins
//	                  acknowledge, resolve and silence them
//	/ports            port graphs: average packets per sensor, per group and
//	                  per sensor, by hour, day or month
//	/compare          top-10 ports of every sensor side by side, and the
//	                  monthly average packets per sensor of each group
//	/sources          top sources; /sources/{ip} the history of one source
//	/sensors          sensor health: last seen, lag, drops, spool, version
//	/admin            enrollment and revocation of sensors (admins)
//	/login, /logout   sessions (when a users file is given)
//
// Every page keeps its period (period=2024Q3, 2024-07, 2024-07-15, or
// from=...&to=...) and selections in the query string, so a link
// reproduces the view. The pages call the API from the browser.
package web
