package main

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nightjar-telescope/nightjar/internal/web"
)

// TestDashboardCutsSlowBody sends a POST body a byte every 100 ms, as the
// issue's 300 slow connections did: the dashboard must answer or close
// the connection once its read timeout has passed, not wait for the body.
func TestDashboardCutsSlowBody(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	o := defaultUIOptions()
	o.Listen, o.timeouts = "127.0.0.1:0", web.Timeouts{Read: timeout}
	ui, err := startUI(nil, nil, o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ui.close)
	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(ui.url, "http://"), "/"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	// POST /logout reads its form before anything else.
	io.WriteString(conn, "POST /logout HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
	go func() {
		for range 1000 {
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	conn.SetReadDeadline(start.Add(5 * timeout))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		_, err = io.Copy(io.Discard, res.Body)
	}
	if elapsed := time.Since(start); errors.Is(err, os.ErrDeadlineExceeded) || elapsed > 3*timeout {
		t.Fatalf("a slow body held the connection %.1f s (%v), want it cut after the %v read timeout", elapsed.Seconds(), err, timeout)
	}
}
