package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// content holds the templates and the assets: everything the UI needs is
// in the binary.
//
//go:embed templates assets
var content embed.FS

// Assets returns the embedded assets (CSS, JavaScript, the vendored
// ECharts and its licenses), rooted at "assets", for tests and tools.
func Assets() fs.FS {
	sub, err := fs.Sub(content, "assets")
	if err != nil {
		panic(err)
	}
	return sub
}

// Templates returns the embedded page templates, rooted at "templates".
func Templates() fs.FS {
	sub, err := fs.Sub(content, "templates")
	if err != nil {
		panic(err)
	}
	return sub
}

// assetServer serves /assets/ from the embedded files, gzip-compressed for
// clients that accept it (ECharts shrinks from 1 MB to 340 KB), with an
// ETag so that browsers revalidate cheaply after an upgrade.
type assetServer struct {
	mu    sync.Mutex
	files map[string]*asset
}

type asset struct {
	data, gz []byte
	etag     string
	ctype    string
}

func newAssetServer() *assetServer { return &assetServer{files: map[string]*asset{}} }

// get loads, hashes and compresses a file at its first request.
func (s *assetServer) get(name string) *asset {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.files[name]; ok {
		return a
	}
	data, err := fs.ReadFile(content, "assets/"+name)
	if err != nil {
		s.files[name] = nil
		return nil
	}
	sum := sha256.Sum256(data)
	a := &asset{data: data, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
	switch {
	case a.ctype == "" && strings.HasPrefix(path.Base(name), "LICENSE"), path.Base(name) == "NOTICE":
		a.ctype = "text/plain; charset=utf-8"
	case a.ctype == "":
		a.ctype = "application/octet-stream"
	}
	if len(data) > 1024 && !strings.HasPrefix(a.ctype, "image/png") {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(data)
		zw.Close()
		if b.Len() < len(data) {
			a.gz = b.Bytes()
		}
	}
	s.files[name] = a
	return a
}

func (s *assetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/assets/")
	if name == "" || strings.HasSuffix(name, "/") || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	a := s.get(name)
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("Cache-Control", "no-cache")
	hd.Add("Vary", "Accept-Encoding")
	data, etag := a.data, a.etag
	if a.gz != nil && acceptsGzip(r) {
		data, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
