package simulate

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/nightjar-telescope/nightjar/internal/banner"
)

// DeviceProfile is a device model of the simulated Internet and what its
// services show a banner scan: the evidence `nightjar devices import`
// reads. Each profile's exposures are written after what such devices are
// documented to answer (their web interfaces' titles, Server headers,
// realms and self-signed certificates); none is copied from a scan of a
// real address. A profile with an empty Model is a decoy: a service that
// mentions a vendor without being its device, which no signature may
// attribute.
type DeviceProfile struct {
	Vendor, Model, Kind string
	// Firmware is the version the exposures carry ("" when they carry
	// none: the attribution must then say unknown).
	Firmware string
	// Services are the answers of the device's services; Addr and Time
	// are filled in per source.
	Services []banner.Record
	// What identifies it: the fields whose values name the model, those
	// that name only the vendor, and the fields that carry the firmware
	// version (any of them). A banner file that carries none of them (a format without
	// certificates, say) identifies nothing, whatever else it holds.
	ModelFields, VendorFields []banner.Field
	FirmwareFields            []banner.Field
}

// DeviceProfiles returns the simulated Internet's device models: the
// models of the seed's table (JPCERT/CC's TP-LINK routers), NICTER's
// Logitec router, and devices common in darknet scans.
func DeviceProfiles() []DeviceProfile {
	tplinkCert := func(cn string) banner.TLS {
		// Each router's self-signed certificate is its own: the
		// fingerprint stands for one.
		sum := sha256.Sum256([]byte("simulated certificate of " + cn))
		return banner.TLS{Subject: "CN=" + cn + ",O=TP-Link,C=CN", Issuer: "CN=" + cn + ",O=TP-Link,C=CN", SHA256: hex.EncodeToString(sum[:]), SANs: []string{"tplinkwifi.net"}}
	}
	web := func(port uint16, title, server, body string) banner.Record {
		return banner.Record{Port: port, HTTP: banner.HTTP{Status: 200, Title: title, Server: server, Body: body}}
	}
	tplinkPage := func(model, fw string) string {
		return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>` + model + `</title></head><body><div id="main"></div>` +
			`<script>var modelName = "` + model + `"; var firmwareVersion = "` + fw + `";</script></body></html>`
	}
	withTLS := func(r banner.Record, t banner.TLS) banner.Record { r.TLS = t; return r }
	title, body := []banner.Field{banner.HTTPTitle}, []banner.Field{banner.HTTPBody}
	titleCert, certOnly := []banner.Field{banner.HTTPTitle, banner.TLSSubject, banner.TLSIssuer}, []banner.Field{banner.TLSSubject, banner.TLSIssuer}
	return []DeviceProfile{
		// JPCERT/CC's table: TP-Link Wi-Fi 6 and Archer routers. The
		// web UI's title is the model name; the page's script carries the
		// firmware ("1.1.2 Build 20220113 rel.54789").
		{Vendor: "TP-Link", Model: "Archer AX1800", Kind: "router", Firmware: "1.0.6 Build 20210527 rel.39433", ModelFields: titleCert, FirmwareFields: body, Services: []banner.Record{
			web(80, "Archer AX1800", "", tplinkPage("Archer AX1800", "1.0.6 Build 20210527 rel.39433")),
		}},
		{Vendor: "TP-Link", Model: "Archer AX3000", Kind: "router", ModelFields: certOnly, Services: []banner.Record{
			// Only the certificate names the model: the page is the
			// generic loader.
			web(80, "Opening...", "", `<html><head><title>Opening...</title></head><body><script src="./js/su.js"></script></body></html>`),
			withTLS(banner.Record{Port: 443}, tplinkCert("Archer AX3000")),
		}},
		{Vendor: "TP-Link", Model: "Archer AX5400", Kind: "router", Firmware: "1.1.2 Build 20220113 rel.54789", ModelFields: titleCert, FirmwareFields: body, Services: []banner.Record{
			web(80, "Archer AX5400", "", tplinkPage("Archer AX5400", "1.1.2 Build 20220113 rel.54789")),
			withTLS(web(443, "Archer AX5400", "", tplinkPage("Archer AX5400", "1.1.2 Build 20220113 rel.54789")), tplinkCert("Archer AX5400")),
		}},
		{Vendor: "TP-Link", Model: "Archer AX6000", Kind: "router", Firmware: "1.3.0 Build 20230310 rel.61277", ModelFields: titleCert, FirmwareFields: body, Services: []banner.Record{
			web(8443, "Archer AX6000", "", tplinkPage("Archer AX6000", "1.3.0 Build 20230310 rel.61277")),
		}},
		{Vendor: "TP-Link", Model: "Archer AX50", Kind: "router", Firmware: "1.0.11 Build 20200915 rel.67051", ModelFields: titleCert, FirmwareFields: body, Services: []banner.Record{
			web(80, "Archer AX50", "", tplinkPage("Archer AX50", "1.0.11 Build 20200915 rel.67051")),
		}},
		{Vendor: "TP-Link", Model: "Archer MR70X", Kind: "router", ModelFields: titleCert, Services: []banner.Record{
			web(80, "Archer MR70X", "", `<html><head><title>Archer MR70X</title></head><body></body></html>`),
		}},
		{Vendor: "TP-Link", Model: "Archer A6", Kind: "router", Firmware: "1.2.1 Build 20190517 rel.46178", ModelFields: titleCert, FirmwareFields: body, Services: []banner.Record{
			web(80, "Archer A6", "", tplinkPage("Archer A6", "1.2.1 Build 20190517 rel.46178")),
		}},
		{Vendor: "TP-Link", Model: "Archer C2600", Kind: "router", ModelFields: []banner.Field{banner.HTTPWWWAuthenticate}, VendorFields: []banner.Field{banner.HTTPServer}, Services: []banner.Record{
			// The older UI: the realm names the product line.
			{Port: 80, HTTP: banner.HTTP{Status: 401, Server: "TP-LINK HTTPD/1.0", WWWAuthenticate: `Basic realm="TP-LINK AC2600 MU-MIMO Wi-Fi Router Archer C2600"`}},
		}},
		// NICTER's infected Logitec routers: a Japanese login page.
		{Vendor: "Logitec", Model: "LAN-W300N/DGR", Kind: "router", Firmware: "1.07", ModelFields: body, VendorFields: title, FirmwareFields: body, Services: []banner.Record{
			web(80, "ロジテック 無線LANルータ 設定画面", "", `<html><head><meta charset="utf-8"><title>ロジテック 無線LANルータ 設定画面</title></head><body><p>LAN-W300N/DGR ファームウェア バージョン 1.07</p></body></html>`),
		}},
		{Vendor: "MikroTik", Model: "RouterOS", Kind: "router", Firmware: "6.48.6", ModelFields: []banner.Field{banner.HTTPTitle, banner.SSH, banner.FTP}, FirmwareFields: []banner.Field{banner.HTTPBody, banner.FTP}, Services: []banner.Record{
			web(80, "RouterOS router configuration page", "", `<html><head><title>RouterOS router configuration page</title></head><body><h1>RouterOS v6.48.6</h1></body></html>`),
			{Port: 22, SSH: "SSH-2.0-ROSSSH"},
			{Port: 21, FTP: "220 MikroTik FTP server (MikroTik 6.48.6) ready"},
		}},
		{Vendor: "Hikvision", Model: "IP camera", Kind: "camera", ModelFields: []banner.Field{banner.HTTPServer}, Services: []banner.Record{
			{Port: 80, HTTP: banner.HTTP{Status: 200, Server: "Hikvision-Webs", Title: ""}},
		}},
		{Vendor: "Dahua", Model: "DVR", Kind: "camera", ModelFields: body, Services: []banner.Record{
			web(80, "WEB SERVICE", "", `<html><head><title>WEB SERVICE</title></head><body><script src="/jsBase/lib/dhplugin.js"></script></body></html>`),
		}},
		{Vendor: "ZTE", Model: "ZXHN F660", Kind: "ont", ModelFields: title, VendorFields: []banner.Field{banner.HTTPServer}, Services: []banner.Record{
			web(80, "F660", "Mini web server 1.0 ZTE corp 2005.", `<html><head><title>F660</title></head><body></body></html>`),
		}},
		{Vendor: "Huawei", Model: "HG532e", Kind: "cpe", ModelFields: title, VendorFields: []banner.Field{banner.HTTPWWWAuthenticate}, Services: []banner.Record{
			{Port: 80, HTTP: banner.HTTP{Status: 401, WWWAuthenticate: `Basic realm="HuaweiHomeGateway"`, Title: "HG532e"}},
			{Port: 37215, Transport: banner.TCP, HTTP: banner.HTTP{Status: 401, Server: "", WWWAuthenticate: `Digest realm="HuaweiHomeGateway", nonce="b3a7", qop="auth"`}},
		}},
		// Decoy: a web shop's review page names the vendor and a model
		// in its title; it is nobody's router.
		{Services: []banner.Record{
			web(443, "TP-Link Archer AX3000 review: the best Wi-Fi 6 router of 2024", "nginx/1.24.0",
				`<html><head><title>TP-Link Archer AX3000 review: the best Wi-Fi 6 router of 2024</title></head><body>Buy the TP-Link Archer AX3000 today.</body></html>`),
		}},
	}
}
