package pki

import (
	"math/big"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
)

// Certificate is one client certificate the registry issued.
type Certificate struct {
	// Serial is the certificate's serial number.
	Serial *big.Int
	// Sensor is the sensor it was issued to (its common name).
	Sensor string
	// NotBefore and NotAfter bound its validity.
	NotBefore, NotAfter time.Time
	// RevokedAt is when it was revoked; zero while it is not.
	RevokedAt time.Time
}

// SerialHex returns the serial as openssl prints it (upper-case hexadecimal).
func (c Certificate) SerialHex() string { return serialKey(c.Serial) }

// SensorStatus is an enrolled sensor with the certificates issued to it.
type SensorStatus struct {
	// Sensor is the sensor as sensors.yaml describes it.
	Sensor fleet.Sensor
	// Certificates are those issued to it, oldest first.
	Certificates []Certificate
}

// Usable returns how many of the sensor's certificates are neither revoked
// nor expired at t.
func (s SensorStatus) Usable(t time.Time) int {
	n := 0
	for _, c := range s.Certificates {
		if c.RevokedAt.IsZero() && t.Before(c.NotAfter) {
			n++
		}
	}
	return n
}

// Revoked reports whether the sensor has certificates and all of them are
// revoked: it cannot connect until it is enrolled again.
func (s SensorStatus) Revoked() bool {
	for _, c := range s.Certificates {
		if c.RevokedAt.IsZero() {
			return false
		}
	}
	return len(s.Certificates) > 0
}

// Sensors returns the enrolled sensors in the order of sensors.yaml, their
// addresses parsed (Prefixes).
func (r *Registry) Sensors() []fleet.Sensor { return r.refresh().copySensors() }

// copySensors returns copies that callers may change.
func (st *state) copySensors() []fleet.Sensor {
	f := fleet.Fleet{Sensors: make([]fleet.Sensor, len(st.sensors))}
	for i, s := range st.sensors {
		f.Sensors[i] = cleanSensor(s)
	}
	if len(f.Sensors) > 0 {
		// The copies parse as the originals did; this fills their prefixes.
		_ = f.Validate()
	}
	return f.Sensors
}

// Status returns every enrolled sensor with its certificates and their
// revocation, in the order of sensors.yaml.
func (r *Registry) Status() []SensorStatus {
	st := r.refresh()
	sensors := st.copySensors()
	out := make([]SensorStatus, len(sensors))
	for i := range sensors {
		out[i].Sensor = sensors[i]
	}
	for _, c := range st.issued {
		i, ok := st.index[c.Sensor]
		if !ok {
			continue
		}
		if rv, ok := st.revoked[serialKey(c.Serial)]; ok {
			c.RevokedAt = rv.Time
		}
		out[i].Certificates = append(out[i].Certificates, c)
	}
	return out
}
