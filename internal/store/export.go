package store

// Exporter writes stored records out for other tools.
type Exporter interface {
}
