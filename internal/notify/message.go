package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/period"
)

// message is one owner's mail: a text part that says what the file is,
// and the file attached.
type message struct {
	from    *mail.Address
	to      []*mail.Address
	subject string
	date    time.Time
	body    string
	file    string // the attachment's name
	format  Format
	data    []byte
}

// contentTypes are the attachments' media types.
var contentTypes = map[Format]string{
	CSV:  "text/csv; charset=utf-8",
	JSON: "application/json",
}

// bytes returns the message in RFC 5322 form with CRLF line ends, 7-bit
// throughout (quoted-printable text, base64 attachment), so that no relay
// needs to re-encode it.
func (m message) bytes() ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	writeHeader(&b, m.from, m.to, m.subject, m.date,
		mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")

	text, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	if err := writeQuotedPrintable(text, m.body); err != nil {
		return nil, err
	}

	file, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(contentTypes[m.format], map[string]string{"name": m.file})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": m.file})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	writeBase64Lines(file, m.data)
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// textMessage returns a mail of one plain-text part in RFC 5322 form,
// quoted-printable as message.bytes writes its text.
func textMessage(from *mail.Address, to []*mail.Address, subject string, date time.Time, body string) ([]byte, error) {
	var b bytes.Buffer
	writeHeader(&b, from, to, subject, date, "text/plain; charset=utf-8")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	if err := writeQuotedPrintable(&b, body); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeHeader writes a mail's header up to its Content-Type; the caller
// ends it (after any further field) with an empty line.
func writeHeader(b *bytes.Buffer, from *mail.Address, to []*mail.Address, subject string, date time.Time, contentType string) {
	addrs := make([]string, len(to))
	for i, a := range to {
		addrs[i] = a.String()
	}
	header := []struct{ key, value string }{
		{"From", from.String()},
		{"To", strings.Join(addrs, ",\r\n ")}, // folded: many contacts stay under the line limit
		{"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", date.Format(time.RFC1123Z)},
		{"Message-ID", "<" + rand.Text() + "@" + domain(from.Address) + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", contentType},
	}
	for _, h := range header {
		fmt.Fprintf(b, "%s: %s\r\n", h.key, h.value)
	}
}

// writeQuotedPrintable writes text quoted-printable, with CRLF line ends.
func writeQuotedPrintable(w io.Writer, text string) error {
	qp := quotedprintable.NewWriter(w)
	qp.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
	return qp.Close()
}

// writeBase64Lines writes data in base64, 76 characters a line (RFC 2045).
func writeBase64Lines(w io.Writer, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		w.Write([]byte(enc[:76] + "\r\n"))
		enc = enc[76:]
	}
	w.Write([]byte(enc + "\r\n"))
}

func domain(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return addr[at+1:]
	}
	return "localhost"
}

// maxNetworksListed bounds the networks the mail's text names.
const maxNetworksListed = 20

// mailBody is the text before the attachment.
func mailBody(r Report, p period.Period, file string) string {
	var nets []string
	for _, asn := range r.Owner.ASNs {
		nets = append(nets, fmt.Sprintf("AS%d", asn))
	}
	for _, pfx := range r.Owner.Prefixes {
		nets = append(nets, pfx.String())
	}
	if len(nets) > maxNetworksListed {
		nets = append(nets[:maxNetworksListed], fmt.Sprintf("and %d more", len(nets)-maxNetworksListed))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Darknet events from the networks of %s, %s (UTC).\n\n", r.Owner.Name, p)
	fmt.Fprintf(&b, "The sensors of a network telescope (unused addresses that no one should\n"+
		"contact) received %d packets in %d events from addresses in your networks\n"+
		"(%s). The attached file %s lists them: one line per\n"+
		"source, destination port and hour, in the columns of Shadowserver's\n"+
		"darknet events report.\n\n", r.Packets(), len(r.Events), strings.Join(nets, ", "), file)
	b.WriteString("A source that scans a darknet is often a compromised device (the tag\n" +
		"column names what its packets look like, e.g. mirai) or a misconfigured one.\n")
	if !r.Owner.DiscloseDestinations {
		b.WriteString("\nThe sensors' addresses are withheld.\n")
	}
	return b.String()
}
