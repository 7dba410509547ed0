package web

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/fleet"
	"github.com/nightjar-telescope/nightjar/internal/pki"
)

// adminData fills the admin page.
type adminData struct {
	Sensors []adminSensor
	Form    enrollForm
	// Enrolled is set after an enrollment: the download is offered once.
	Enrolled *enrolled
	// Confirm asks to confirm the revocation of this sensor.
	Confirm string
	// Settings shows the settings form when the server has settings.
	Settings      bool
	RetentionDays int
}

type adminSensor struct {
	Name, Group, Country, Addresses string
	Certificates                    []adminCert
	Usable                          int
	Revoked                         bool
}

type adminCert struct {
	Serial, NotAfter, RevokedAt string
}

type enrollForm struct {
	Name, Group, Country, Description, Addresses string
	ValidityDays                                 int
}

type enrolled struct {
	Sensor, Serial, NotAfter, Download, File string
}

// adminPage lists the enrolled sensors, with the enrollment form.
func (h *Handler) adminPage(w http.ResponseWriter, r *http.Request, id identity) {
	d := h.adminData(r, id)
	q := r.URL.Query()
	if days := q.Get("retention"); days != "" {
		if days == "0" {
			d.Notice = "Raw packet records are now kept forever."
		} else {
			d.Notice = fmt.Sprintf("Raw packet records are now kept for %s days; older ones go at the next rollup. Rollups are kept forever.", days)
		}
	}
	if name := q.Get("revoked"); name != "" {
		n, _ := strconv.Atoi(q.Get("n"))
		if n == 0 {
			d.Notice = fmt.Sprintf("Every certificate of %s was revoked already.", name)
		} else {
			d.Notice = fmt.Sprintf("Revoked %d certificate(s) of %s: it can no longer connect.", n, name)
		}
	}
	h.render(w, http.StatusOK, "admin", d)
}

func (h *Handler) adminData(r *http.Request, id identity) *pageData {
	d := h.pageData(r, id, "admin", "Admin")
	d.Admin = &adminData{Form: enrollForm{ValidityDays: int(h.opts.EnrollValidity / (24 * time.Hour))}}
	if h.opts.Settings != nil {
		d.Admin.Settings, d.Admin.RetentionDays = true, retentionDays(h.opts.Settings)
	}
	if h.opts.Registry == nil {
		return d
	}
	now := h.opts.Now()
	for _, st := range h.opts.Registry.Status() {
		s := adminSensor{
			Name: st.Sensor.Name, Group: st.Sensor.Group, Country: st.Sensor.Country,
			Addresses: strings.Join(st.Sensor.Addresses, " "), Usable: st.Usable(now), Revoked: st.Revoked(),
		}
		for _, c := range st.Certificates {
			ac := adminCert{Serial: c.SerialHex(), NotAfter: c.NotAfter.UTC().Format(time.DateOnly)}
			if !c.RevokedAt.IsZero() {
				ac.RevokedAt = c.RevokedAt.UTC().Format(time.DateTime)
			}
			s.Certificates = append(s.Certificates, ac)
		}
		d.Admin.Sensors = append(d.Admin.Sensors, s)
	}
	if err := h.opts.Registry.Err(); err != nil {
		d.Error = "The registry files could not be reread (the last good state is shown): " + err.Error()
	}
	return d
}

// maxValidityDays bounds the validity typed in the form (the CA's own
// validity bounds it further).
const maxValidityDays = 3650

// enroll enrolls a sensor and offers its credentials as a download.
func (h *Handler) enroll(w http.ResponseWriter, r *http.Request, id identity) {
	if h.opts.Registry == nil {
		h.adminError(w, r, id, http.StatusNotFound, "This server has no sensor registry: start it with --ca DIR.")
		return
	}
	f := r.PostForm
	form := enrollForm{
		Name: strings.TrimSpace(f.Get("name")), Group: strings.TrimSpace(f.Get("group")),
		Country: strings.TrimSpace(f.Get("country")), Description: strings.TrimSpace(f.Get("description")),
		Addresses: strings.TrimSpace(f.Get("addresses")),
	}
	days, err := strconv.Atoi(strings.TrimSpace(f.Get("validity_days")))
	form.ValidityDays = days
	fail := func(msg string) {
		d := h.adminData(r, id)
		d.Admin.Form, d.Error = form, msg
		h.render(w, http.StatusBadRequest, "admin", d)
	}
	switch {
	case err != nil || days < 1 || days > maxValidityDays:
		fail(fmt.Sprintf("Validity: give a number of days from 1 to %d.", maxValidityDays))
		return
	case form.Group == "":
		fail("Group: give the group the sensor is compared with (for example Japan).")
		return
	}
	addrs := strings.FieldsFunc(form.Addresses, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
	if len(addrs) == 0 {
		fail("Addresses: give the sensor's monitored addresses or prefixes.")
		return
	}
	s := fleet.Sensor{Name: form.Name, Group: form.Group, Country: form.Country, Description: form.Description, Addresses: addrs}
	creds, err := h.opts.Registry.Enroll(s, time.Duration(days)*24*time.Hour)
	if err != nil {
		fail(err.Error())
		return
	}
	archive, err := credentialsArchive(form.Name, creds, h.opts.Now())
	if err != nil {
		h.adminError(w, r, id, http.StatusInternalServerError, "The sensor was enrolled but its credentials could not be packed: "+err.Error())
		return
	}
	file := form.Name + "-credentials.tar.gz"
	token := h.loads.put(id.token, file, archive)
	h.opts.Logger.Info("sensor enrolled", "user", id.Name, "sensor", form.Name, "group", form.Group,
		"serial", fmt.Sprintf("%X", creds.Serial), "not_after", creds.NotAfter.UTC().Format(time.RFC3339), "client", clientIP(r))
	d := h.adminData(r, id)
	d.Admin.Enrolled = &enrolled{
		Sensor: form.Name, Serial: fmt.Sprintf("%X", creds.Serial), NotAfter: creds.NotAfter.UTC().Format(time.DateOnly),
		Download: "/admin/download/" + token, File: file,
	}
	h.render(w, http.StatusOK, "admin", d)
}

// revoke revokes every certificate of a sensor, after a confirmation.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, id identity) {
	if h.opts.Registry == nil {
		h.adminError(w, r, id, http.StatusNotFound, "This server has no sensor registry: start it with --ca DIR.")
		return
	}
	name := r.PostForm.Get("name")
	if r.PostForm.Get("confirm") != "yes" {
		d := h.adminData(r, id)
		d.Admin.Confirm = name
		h.render(w, http.StatusOK, "admin", d)
		return
	}
	n, err := h.opts.Registry.Revoke(name)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, pki.ErrUnknownSensor) {
			status = http.StatusNotFound
		}
		h.adminError(w, r, id, status, err.Error())
		return
	}
	h.opts.Logger.Info("sensor revoked", "user", id.Name, "sensor", name, "certificates", n, "client", clientIP(r))
	http.Redirect(w, r, "/admin?revoked="+url.QueryEscape(name)+"&n="+strconv.Itoa(n), http.StatusSeeOther)
}

func (h *Handler) adminError(w http.ResponseWriter, r *http.Request, id identity, status int, msg string) {
	d := h.adminData(r, id)
	d.Error = msg
	h.render(w, status, "admin", d)
}

// download serves enrolled credentials once, to the session that enrolled
// them, within downloadTTL.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, id identity) {
	file, data, ok := h.loads.take(r.PathValue("token"), id.token)
	if !ok {
		h.adminError(w, r, id, http.StatusNotFound, "This download is gone: credentials are offered once, for 10 minutes, to the admin who enrolled the sensor. Enroll the sensor again for new ones.")
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// credentialsArchive packs a sensor's credentials as NAME/sensor.crt,
// NAME/sensor.key (mode 0600) and NAME/ca.crt: "tar xzf" on the sensor
// gives the directory nightjar-sensor's configuration names.
func credentialsArchive(name string, c pki.Credentials, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	dir := &tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o700, ModTime: now}
	if err := tw.WriteHeader(dir); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		data []byte
		mode int64
	}{
		{pki.SensorCertFile, c.CertPEM, 0o644},
		{pki.SensorKeyFile, c.KeyPEM, 0o600},
		{pki.SensorCAFile, c.CAPEM, 0o644},
	} {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name + "/" + f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// downloadTTL is how long enrolled credentials wait for their download.
const downloadTTL = 10 * time.Minute

// downloads holds freshly enrolled credentials until their one download.
type downloads struct {
	mu  sync.Mutex
	m   map[string]pending
	now func() time.Time
}

type pending struct {
	owner, file string // owner: the session token of the admin who enrolled
	data        []byte
	expires     time.Time
}

func newDownloads(now func() time.Time) *downloads {
	return &downloads{m: map[string]pending{}, now: now}
}

func (d *downloads) put(owner, file string, data []byte) string {
	token := randomToken()
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for k, p := range d.m {
		if now.After(p.expires) {
			delete(d.m, k)
		}
	}
	d.m[token] = pending{owner: owner, file: file, data: data, expires: now.Add(downloadTTL)}
	return token
}

func (d *downloads) take(token, owner string) (file string, data []byte, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, found := d.m[token]
	if !found || !sameToken(p.owner, owner) {
		return "", nil, false
	}
	delete(d.m, token)
	if d.now().After(p.expires) {
		return "", nil, false
	}
	return p.file, p.data, true
}
