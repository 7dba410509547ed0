package api

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
)

// writeJSON writes an answer as JSON. An encoding error after the status is
// sent cannot be answered any more: the client sees a truncated body.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// writeCSV writes a table as an attachment named nightjar-NAME.csv.
func writeCSV(w http.ResponseWriter, name string, t Table) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="nightjar-`+name+`.csv"`)
	WriteCSV(w, t)
}

func writeError(w http.ResponseWriter, status int, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

// WriteCSV writes a table with its header row (`nightjar query` and the
// API write the same).
func WriteCSV(w io.Writer, t Table) error {
	header, rows := t.CSV()
	cw := csv.NewWriter(w)
	cw.Write(header)
	cw.WriteAll(rows)
	return cw.Error()
}
