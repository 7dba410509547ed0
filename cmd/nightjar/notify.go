package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nightjar-telescope/nightjar/internal/analyze"
	"github.com/nightjar-telescope/nightjar/internal/notify"
	"github.com/nightjar-telescope/nightjar/internal/record"
	"github.com/nightjar-telescope/nightjar/internal/store"
)

// notifyOptions are the flags of nightjar notify.
type notifyOptions struct {
	db, subscriptions, out string
	per                    periodOptions
	mail                   notify.MailConfig
	passwordFile, caFile   string
	send                   bool
}

func newNotifyCommand(g *globalOptions) *cobra.Command {
	var o notifyOptions
	cmd := &cobra.Command{
		Use:   "notify --db PATH --subscriptions FILE --period DAY --out DIR [--smtp HOST:PORT --mail-from ADDR ...]",
		Short: "Write (and mail) each network owner's report of the darknet events from its addresses",
		Long: `Writes, for every owner of the --subscriptions file, the darknet events of
the period whose sources are in the owner's networks (AS numbers or
prefixes): one file per owner in --out DIR, CSV or JSON as the owner's entry
says, with the columns of Shadowserver's darknet report (timestamp,
protocol, src_ip, src_port, src_asn, src_geo, device_vendor, device_model,
dst_ip, dst_port, tag, count), one row per UTC hour, source, destination
port (and sensor address) — as Shadowserver sends each network owner its
daily report. The sensors' addresses are never in a file unless the
owner's entry says disclose_destinations: true.

The subscriptions file:

  owners:
    - owner: Example ISP
      contact: [abuse@example.net]
      asns: [AS64500, 64501]
      prefixes: [192.0.2.0/24, 2001:db8::/32]
      format: csv            # or json
      disclose_destinations: false

Events are counted from the raw records, so the period must lie within the
database's retention. Sources are placed in an AS by the GeoIP/ASN database
given at ingest or to the collector (--geoip); an owner known only by its
ASNs gets nothing from sources stored without one. An owner without events
gets a file with the header alone, and no mail.

With --smtp HOST:PORT (and --mail-from), each owner's file is mailed to its
contacts, over STARTTLS (required unless --smtp-insecure; --smtp-tls for
SMTPS on port 465), with --smtp-user and the password of
--smtp-password-file or $NIGHTJAR_SMTP_PASSWORD. A failed delivery does not
stop the others; the exit status is then 1.`,
		Example: `  nightjar notify --db telescope.duckdb --subscriptions owners.yaml --period 2024-07-15 --out notify/2024-07-15
  nightjar notify --db telescope.duckdb --subscriptions owners.yaml --period 2024-07-15 --out out \
      --smtp smtp.example.net:587 --mail-from "Telescope <telescope@example.org>" --smtp-user telescope \
      --smtp-password-file /etc/nightjar/smtp-password`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.send = o.mail.Server != ""
			o.mail.Now = g.now
			return runNotify(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.db, "db", "", "database `PATH`")
	f.StringVar(&o.subscriptions, "subscriptions", "", "YAML `FILE` of the owners: owner, contact, asns, prefixes, format, disclose_destinations")
	f.StringVar(&o.out, "out", "", "`DIR` to write one file per owner into (created if missing)")
	o.per.addFlags(f)
	d := notify.DefaultMailConfig()
	f.StringVar(&o.mail.Server, "smtp", "", "mail the files through this submission server `HOST:PORT`")
	f.StringVar(&o.mail.From, "mail-from", "", "sender of the mails (`ADDRESS`, e.g. \"Telescope <telescope@example.org>\")")
	f.StringVar(&o.mail.Subject, "subject", d.Subject, "subject of the mails ({owner} and {period} are replaced)")
	f.StringVar(&o.mail.Username, "smtp-user", "", "user `NAME` to authenticate as (AUTH); none when empty")
	f.StringVar(&o.passwordFile, "smtp-password-file", "", "`FILE` holding the SMTP password (default $NIGHTJAR_SMTP_PASSWORD)")
	f.StringVar(&o.mail.Auth, "smtp-auth", d.Auth, "authentication mechanism: plain or login")
	f.BoolVar(&o.mail.ImplicitTLS, "smtp-tls", false, "speak TLS from the start (SMTPS, port 465) instead of STARTTLS")
	f.BoolVar(&o.mail.Insecure, "smtp-insecure", false, "send in clear to a server that offers no STARTTLS (credentials too)")
	f.StringVar(&o.caFile, "smtp-ca", "", "PEM `FILE` of the certificate authorities that sign the server's certificate (default: the system's)")
	f.DurationVar(&o.mail.Timeout, "smtp-timeout", d.Timeout, "longest delivery to one owner")
	return cmd
}

func runNotify(cmd *cobra.Command, o notifyOptions) error {
	switch {
	case o.db == "":
		return errors.New("--db PATH is required")
	case o.subscriptions == "":
		return errors.New("--subscriptions FILE is required")
	case o.out == "":
		return errors.New("--out DIR is required")
	}
	p, err := o.per.resolve()
	if err != nil {
		return err
	}
	subs, err := notify.Load(o.subscriptions)
	if err != nil {
		return err
	}
	// The mail settings fail before the database is read.
	var mailer *notify.Mailer
	if o.send {
		if o.mail.Password, err = smtpPassword(o.passwordFile); err != nil {
			return err
		}
		if o.caFile != "" {
			pem, err := os.ReadFile(o.caFile)
			if err != nil {
				return fmt.Errorf("--smtp-ca: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return fmt.Errorf("--smtp-ca %s: no PEM certificate in it", o.caFile)
			}
			o.mail.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
		if mailer, err = notify.NewMailer(o.mail); err != nil {
			return err
		}
	}
	st, err := openExisting(cmd.Context(), o.db)
	if err != nil {
		return err
	}
	defer st.Close()
	q := store.EventsQuery{Period: p}
	for _, owner := range subs.Owners() {
		q.ASNs = append(q.ASNs, owner.ASNs...)
		q.Prefixes = append(q.Prefixes, owner.Prefixes...)
	}
	stored, err := st.Events(cmd.Context(), q)
	if err != nil {
		return err
	}
	events := make([]notify.Event, len(stored))
	for i, e := range stored {
		events[i] = notify.Event{Timestamp: e.Hour, Protocol: strings.ToLower(record.ProtocolName(e.Protocol)), SrcIP: e.Src,
			SrcASN: e.ASN, SrcGeo: e.Country, DeviceVendor: e.DeviceVendor, DeviceModel: e.DeviceModel,
			DstIP: e.Dst, DstPort: e.DstPort, Tag: strings.Join(e.Tags, ","), Count: e.Packets}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	files, err := notify.WriteDir(o.out, p, notify.Plan(subs, events))
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	for _, f := range files {
		fmt.Fprintf(w, "%s: %s events, %s packets: %s\n", f.Report.Owner.Name, analyze.Thousands(uint64(len(f.Report.Events))),
			analyze.Thousands(f.Report.Packets()), f.Path)
	}
	if mailer == nil {
		return nil
	}
	res := mailer.Send(cmd.Context(), p, files)
	for _, d := range res.Sent {
		fmt.Fprintf(w, "mailed %s to %s\n", d.Owner, strings.Join(d.To, ", "))
	}
	for _, owner := range res.Skipped {
		fmt.Fprintf(w, "not mailed %s: no events in %s\n", owner, p)
	}
	for _, d := range res.Failed {
		fmt.Fprintf(cmd.ErrOrStderr(), "nightjar: mail to %s failed: %v\n", d.Owner, d.Err)
	}
	if len(res.Failed) > 0 {
		return &analyzeError{fmt.Sprintf("%d of %d owners' mails failed", len(res.Failed), len(files))}
	}
	return nil
}

// smtpPassword reads the password of path, or $NIGHTJAR_SMTP_PASSWORD.
func smtpPassword(path string) (string, error) {
	if path == "" {
		return os.Getenv("NIGHTJAR_SMTP_PASSWORD"), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--smtp-password-file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
