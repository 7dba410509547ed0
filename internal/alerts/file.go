package alerts

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nightjar-telescope/nightjar/internal/alerts/deliver"
	"github.com/nightjar-telescope/nightjar/internal/yamlstrict"
)

// File is an alerts file: the detectors' configuration, and the
// receivers told of the alerts. The collector, serve and demo read it
// (their alerts_file setting), and so do the alerts commands.
type File struct {
	Alerts Config `yaml:",inline"`
	// Delivery: the receivers (webhooks, mailboxes) and the dashboard's
	// address for the links.
	Delivery deliver.Config `yaml:"delivery"`
}

// DefaultFile returns the defaults: DefaultConfig, no receivers.
func DefaultFile() File { return File{Alerts: DefaultConfig(), Delivery: deliver.DefaultConfig()} }

// LoadFile reads an alerts file over the defaults, strictly (an unknown
// key is an error), and validates it.
func LoadFile(path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("alerts file: %w", err)
	}
	f := DefaultFile()
	if err := yamlstrict.Decode(data, &f); err != nil && !errors.Is(err, io.EOF) { // an empty file: the defaults
		return File{}, fmt.Errorf("alerts file %s: %w", path, err)
	}
	if err := f.Alerts.Validate(); err != nil {
		return File{}, fmt.Errorf("alerts file %s: %w", path, err)
	}
	if err := f.Delivery.Check(); err != nil {
		return File{}, fmt.Errorf("alerts file %s: delivery: %w", path, err)
	}
	f.Alerts.Receivers = f.Delivery.ReceiverNames()
	return f, nil
}

// ReceiverNames are the names of the file's receivers, for whom each
// notifiable change is queued.
func (f File) ReceiverNames() []string { return f.Delivery.ReceiverNames() }
