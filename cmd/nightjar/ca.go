package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// newCACommand returns "nightjar ca": the sensors' certificate authority
// and registry (internal/pki).
func newCACommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Run the sensors' certificate authority: init, enroll, revoke, list",
		Long: `Sensors authenticate to the collector with client certificates (mutual
TLS); a sensor's name is its certificate's. These commands keep the
certificate authority and the registry of sensors in one directory
(--dir, mode 0700):

  ca.crt, ca.key                 the CA (ECDSA P-256, valid 10 years)
  collector.crt, collector.key   the collector's server certificate
  sensors.yaml                   the enrolled sensors (the file "ingest --sensors" reads)
  issued.yaml, revoked.yaml      every certificate issued, and those revoked

The collector reads the same directory ("nightjar collector --ca DIR") and
notices enrollments and revocations without a restart.`,
		Example: `  nightjar ca init --dir registry --host collector.example.net
  nightjar ca enroll --dir registry --name jp-tokyo-1 --group Japan --country JP --prefix 198.18.1.0/24 --out jp-tokyo-1
  nightjar ca list --dir registry
  nightjar ca revoke --dir registry jp-tokyo-1`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q for \"nightjar ca\" (want init, enroll, revoke or list)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCAInitCommand(), newCAEnrollCommand(), newCARevokeCommand(), newCAListCommand())
	return cmd
}

func caDirFlag(f *pflag.FlagSet, dir *string) {
	f.StringVar(dir, "dir", "", "the registry `DIR` (made by nightjar ca init)")
}

func caNoArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	return nil
}

func openRegistry(dir string) (*pki.Registry, error) {
	if dir == "" {
		return nil, errors.New(`--dir DIR is required (the registry directory "nightjar ca init" made)`)
	}
	return pki.Open(dir)
}

func newCAInitCommand() *cobra.Command {
	var (
		dir   string
		hosts []string
	)
	cmd := &cobra.Command{
		Use:   "init --dir DIR [--host NAME_OR_IP]...",
		Short: "Create a registry: a new CA and the collector's certificate",
		Long: `Creates the registry directory --dir (mode 0700) with a new certificate
authority (ECDSA P-256, valid 10 years) and the collector's server
certificate, valid 2 years for every --host: the DNS names and IP addresses
sensors dial to reach the collector (default: localhost, 127.0.0.1, ::1).

Refuses a directory that already holds a registry: a new CA would lock out
every sensor enrolled with the old one.

Keep ca.key secret and backed up: whoever reads it can enroll sensors, and
without it no sensor can be enrolled again.`,
		Example: `  nightjar ca init --dir /var/lib/nightjar/registry --host collector.example.net --host 203.0.113.7`,
		Args:    caNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return errors.New("--dir DIR is required (the directory to create the registry in)")
			}
			reg, err := pki.Init(dir, pki.InitOptions{Hosts: hosts})
			if err != nil {
				return err
			}
			coll := reg.CollectorCertificate()
			names := coll.DNSNames
			for _, ip := range coll.IPAddresses {
				names = append(names, ip.String())
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "created the registry %s\n", dir)
			fmt.Fprintf(w, "  %-15s the CA, valid until %s (%s: mode 0600, keep it secret and backed up)\n",
				pki.CACertFile, reg.CA().NotAfter.Format(time.DateOnly), pki.CAKeyFile)
			fmt.Fprintf(w, "  %-15s the collector's certificate for %s, valid until %s\n",
				pki.CollectorCertFile, strings.Join(names, ", "), coll.NotAfter.Format(time.DateOnly))
			fmt.Fprintf(w, "next: enroll each sensor, then start the collector:\n")
			fmt.Fprintf(w, "  nightjar ca enroll --dir %s --name NAME --group GROUP --country CC --prefix PREFIX --out NAME\n", dir)
			fmt.Fprintf(w, "  nightjar collector --ca %s --db telescope.duckdb\n", dir)
			return nil
		},
	}
	f := cmd.Flags()
	caDirFlag(f, &dir)
	f.StringSliceVar(&hosts, "host", nil, "DNS `NAME_OR_IP` sensors dial to reach the collector (repeat or comma-separate; default localhost, 127.0.0.1, ::1)")
	return cmd
}

func newCAEnrollCommand() *cobra.Command {
	var (
		dir, out string
		s        fleet.Sensor
		validity time.Duration
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "enroll --dir DIR --name NAME --group G --country CC --prefix P... --out SENSORDIR",
		Short: "Add or update a sensor and issue its client certificate",
		Long: `Adds the sensor to the registry's sensors.yaml (or updates the group,
country, description and prefixes of a sensor enrolled before), issues it a
client certificate (ECDSA P-256, common name = --name) valid for --validity,
and writes what the sensor machine needs into --out SENSORDIR (mode 0700):
sensor.crt, sensor.key (mode 0600) and ca.crt. SENSORDIR must be new or
empty — it might hold another sensor's credentials — unless --force.

The name must be letters, digits, '.', '_' and '-'; the prefixes are the
unused addresses the sensor watches (198.18.1.1, 198.18.2.0/24,
2001:db8::/64) and may not overlap another sensor's; the country is an
ISO 3166-1 alpha-2 code; the group and description may hold no control
character (newline, tab...).

Enrolling a sensor again issues a new certificate; the earlier ones stay
valid until "nightjar ca revoke" (which revokes all of the sensor's).`,
		Example: `  nightjar ca enroll --dir registry --name jp-tokyo-1 --group Japan --country JP \
    --description "campus network" --prefix 198.18.1.0/24 --prefix 2001:db8:1::/64 --out jp-tokyo-1`,
		Args: caNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var missing []string
			for _, m := range []struct {
				flag string
				set  bool
			}{{"--dir", dir != ""}, {"--name", s.Name != ""}, {"--group", s.Group != ""}, {"--country", s.Country != ""}, {"--prefix", len(s.Addresses) > 0}, {"--out", out != ""}} {
				if !m.set {
					missing = append(missing, m.flag)
				}
			}
			if len(missing) > 0 {
				return fmt.Errorf("missing %s (see nightjar ca enroll --help)", strings.Join(missing, ", "))
			}
			reg, err := openRegistry(dir)
			if err != nil {
				return err
			}
			if !force {
				if err := checkOutDir(out); err != nil {
					return err
				}
			}
			creds, err := reg.Enroll(s, validity)
			if err != nil {
				return err
			}
			serial := pki.Certificate{Serial: creds.Serial}.SerialHex()
			if err := creds.WriteDir(out); err != nil {
				return fmt.Errorf("certificate %s of sensor %q was issued but not written: %w", serial, s.Name, err)
			}
			var status pki.SensorStatus
			for _, st := range reg.Status() {
				if st.Sensor.Name == s.Name {
					status = st
				}
			}
			w := cmd.OutOrStdout()
			sn := status.Sensor
			fmt.Fprintf(w, "enrolled sensor %q: group %s, country %s, %s\n", sn.Name, sn.Group, sn.Country, strings.Join(sn.Addresses, ", "))
			fmt.Fprintf(w, "issued certificate %s, valid until %s\n", serial, creds.NotAfter.Format(time.DateOnly))
			if n := status.Usable(time.Now()) - 1; n > 0 {
				fmt.Fprintf(w, "note: %d earlier certificate(s) of %s stay valid until revoked\n", n, sn.Name)
			}
			fmt.Fprintf(w, "wrote %s:\n", out)
			fmt.Fprintf(w, "  %-11s the sensor's certificate\n", pki.SensorCertFile)
			fmt.Fprintf(w, "  %-11s its private key (mode 0600: keep it secret)\n", pki.SensorKeyFile)
			fmt.Fprintf(w, "  %-11s the CA, to verify the collector\n", pki.SensorCAFile)
			remote := "/etc/nightjar/" + filepath.Base(filepath.Clean(out))
			fmt.Fprintf(w, "next: copy the directory to the sensor machine, e.g.\n  scp -r %s SENSOR-HOST:%s\n", out, remote)
			fmt.Fprintf(w, "and name the three files in the sensor's configuration:\n")
			fmt.Fprintf(w, "  collector:\n    cert: %s/%s\n    key: %s/%s\n    ca: %s/%s\n",
				remote, pki.SensorCertFile, remote, pki.SensorKeyFile, remote, pki.SensorCAFile)
			fmt.Fprintf(w, "then check it there with: nightjar-sensor --check --config sensor.yaml\n")
			return nil
		},
	}
	f := cmd.Flags()
	caDirFlag(f, &dir)
	f.StringVar(&s.Name, "name", "", "sensor `NAME` (its certificate's common name)")
	f.StringVar(&s.Group, "group", "", "`GROUP` the sensor is compared with (Japan, overseas)")
	f.StringVar(&s.Country, "country", "", "ISO 3166-1 alpha-2 country `CODE` of the sensor's network (JP)")
	f.StringVar(&s.Description, "description", "", "free `TEXT` about the network hosting the sensor")
	f.StringSliceVar(&s.Addresses, "prefix", nil, "monitored address or `PREFIX` (repeat or comma-separate)")
	f.StringVar(&out, "out", "", "`SENSORDIR` to write the sensor's certificate, key and CA into")
	f.DurationVar(&validity, "validity", 365*24*time.Hour, "how long the certificate is valid (a `DURATION` such as 8760h)")
	f.BoolVar(&force, "force", false, "write into a non-empty --out, replacing the credentials there")
	return cmd
}

// checkOutDir refuses an --out that holds anything, before a certificate
// is issued: it may be another sensor's directory, whose credentials the
// new ones would replace.
func checkOutDir(dir string) error {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("--out %s: %w", dir, err)
	}
	return fmt.Errorf("--out %s is not empty (it holds %s, perhaps another sensor's credentials): give a new or empty directory, or --force to replace its files", dir, names[0])
}

func newCARevokeCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "revoke --dir DIR NAME",
		Short: "Revoke every certificate of a sensor",
		Long: `Revokes every certificate ever issued to the sensor NAME. A running
collector rereads the registry at most every 250 ms: it refuses the sensor's
new connections and cuts its open stream within a second, without a
restart. The sensor stays in sensors.yaml (its stored data keeps its name);
enrolling it again issues a new certificate.`,
		Example: `  nightjar ca revoke --dir registry jp-tokyo-1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("give the NAME of one sensor to revoke (nightjar ca list shows them)")
			}
			reg, err := openRegistry(dir)
			if err != nil {
				return err
			}
			n, err := reg.Revoke(args[0])
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if n == 0 {
				fmt.Fprintf(w, "sensor %q had no certificate left to revoke\n", args[0])
				return nil
			}
			fmt.Fprintf(w, "revoked %d certificate(s) of sensor %q\n", n, args[0])
			fmt.Fprintf(w, "a running collector refuses it within a second (it rereads %s every %v)\n",
				filepath.Join(dir, pki.RevokedFile), pki.ReloadInterval)
			return nil
		},
	}
	caDirFlag(cmd.Flags(), &dir)
	return cmd
}

func newCAListCommand() *cobra.Command {
	var dir, format string
	cmd := &cobra.Command{
		Use:   "list --dir DIR [--format table|json]",
		Short: "List the enrolled sensors and their certificates",
		Long: `Lists the enrolled sensors with their group, country and prefixes, how
many certificates each was issued and how many of those were revoked, and
its state: active (a certificate is usable), revoked (all are revoked),
expired (none revoked is still valid) or none (listed in sensors.yaml
without a certificate).
--format json adds each certificate's serial, validity and revocation time.`,
		Example: `  nightjar ca list --dir registry
  nightjar ca list --dir registry --format json`,
		Args: caNoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("unknown --format %q (want one of table, json)", format)
			}
			reg, err := openRegistry(dir)
			if err != nil {
				return err
			}
			return writeCAList(cmd.OutOrStdout(), format, reg.Status(), time.Now())
		},
	}
	caDirFlag(cmd.Flags(), &dir)
	cmd.Flags().StringVar(&format, "format", "table", "output format: table, json")
	return cmd
}

// caSensor is a sensor in "ca list --format json".
type caSensor struct {
	fleet.Sensor
	State        string          `json:"state"`
	Certificates []caCertificate `json:"certificates"`
}

type caCertificate struct {
	Serial    string     `json:"serial"`
	NotBefore time.Time  `json:"not_before"`
	NotAfter  time.Time  `json:"not_after"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// sensorState is a sensor's state in "ca list".
func sensorState(s pki.SensorStatus, now time.Time) string {
	switch {
	case s.Usable(now) > 0:
		return "active"
	case s.Revoked():
		return "revoked"
	case len(s.Certificates) > 0:
		return "expired"
	}
	return "none"
}

func writeCAList(w io.Writer, format string, sensors []pki.SensorStatus, now time.Time) error {
	if format == "json" {
		out := []caSensor{}
		for _, s := range sensors {
			cs := caSensor{Sensor: s.Sensor, State: sensorState(s, now), Certificates: []caCertificate{}}
			for _, c := range s.Certificates {
				cc := caCertificate{Serial: c.SerialHex(), NotBefore: c.NotBefore, NotAfter: c.NotAfter}
				if !c.RevokedAt.IsZero() {
					cc.RevokedAt = &c.RevokedAt
				}
				cs.Certificates = append(cs.Certificates, cc)
			}
			out = append(out, cs)
		}
		return writeJSON(w, out)
	}
	if len(sensors) == 0 {
		_, err := fmt.Fprintln(w, "no sensors enrolled yet (nightjar ca enroll adds one)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tGROUP\tCOUNTRY\tPREFIXES\tCERTIFICATES\tSTATE\tVALID UNTIL")
	for _, s := range sensors {
		revoked := 0
		var until time.Time
		for _, c := range s.Certificates {
			if !c.RevokedAt.IsZero() {
				revoked++
			} else if c.NotAfter.After(until) {
				until = c.NotAfter
			}
		}
		var untilText string
		if !until.IsZero() {
			untilText = until.Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d (%d revoked)\t%s\t%s\n", s.Sensor.Name, orDash(s.Sensor.Group), orDash(s.Sensor.Country),
			strings.Join(s.Sensor.Addresses, ", "), len(s.Certificates), revoked, sensorState(s, now), orDash(untilText))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
