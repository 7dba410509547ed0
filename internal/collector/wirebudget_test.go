package collector

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// countingReader counts the bytes read from it: how far the network has
// been read.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Close() error { return nil }

func envelope(payload int) []byte {
	b := make([]byte, 5+payload)
	binary.BigEndian.PutUint32(b[1:5], uint32(payload))
	return b
}

// TestMeterWaitsBeforeThePayload: with room for one message, a stream
// reads the next message's prefix and then stops, its payload left
// unread on the network, until the first message is decoded; the room
// taken is what was read, and all of it comes back.
func TestMeterWaitsBeforeThePayload(t *testing.T) {
	const size = 1000
	body := &countingReader{r: bytes.NewReader(append(envelope(size), envelope(size)...))}
	budget := newWireBudget(size + 5)
	m := budget.meter(context.Background(), body)

	first := make([]byte, 5+size)
	if _, err := io.ReadFull(m, first); err != nil {
		t.Fatalf("reading the first message: %v", err)
	}
	if got := budget.held.Load(); got != size+5 {
		t.Fatalf("room held after the first message = %d, want %d", got, size+5)
	}
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(m, make([]byte, 5+size))
		read <- err
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-read:
		t.Fatalf("the second message was read (%v) while the budget held the first", err)
	default:
	}
	if got, want := body.n.Load(), int64(5+size+5); got != want {
		t.Fatalf("%d bytes read from the network while waiting, want %d (the first message and the next prefix)", got, want)
	}
	m.done()
	select {
	case err := <-read:
		if err != nil {
			t.Fatalf("second message: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second message was not read after the first was decoded")
	}
	m.close()
	if got := budget.held.Load(); got != 0 {
		t.Errorf("room held after the stream ended = %d, want 0", got)
	}
}

// TestMeterOversizedMessageTakesNoRoom: a prefix that claims more than
// connect accepts takes no room (connect discards it as it reads), and a
// message larger than the whole budget takes all of it, not more.
func TestMeterOversizedMessageTakesNoRoom(t *testing.T) {
	for _, c := range []struct {
		name    string
		payload uint32
		want    int64
	}{
		{"beyond connect's limit", maxMessageBytes + 1, 0},
		{"beyond the budget", 4096, 1024},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := make([]byte, 5)
			binary.BigEndian.PutUint32(prefix[1:], c.payload)
			budget := newWireBudget(1024)
			m := budget.meter(context.Background(), &countingReader{r: bytes.NewReader(prefix)})
			if _, err := io.ReadFull(m, make([]byte, 5)); err != nil {
				t.Fatal(err)
			}
			if got := budget.held.Load(); got != c.want {
				t.Errorf("room held = %d, want %d", got, c.want)
			}
			m.close()
		})
	}
}

// TestMeterEndedWhileWaiting: a stream that ends while its read waits for
// room gives up the read and holds nothing.
func TestMeterEndedWhileWaiting(t *testing.T) {
	budget := newWireBudget(100)
	other := budget.meter(context.Background(), &countingReader{r: bytes.NewReader(envelope(95))})
	if _, err := io.ReadFull(other, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := budget.meter(ctx, &countingReader{r: bytes.NewReader(envelope(50))})
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(m, make([]byte, 55))
		read <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	m.close()
	if err := <-read; err == nil {
		t.Fatal("a read waiting for room succeeded after its stream ended")
	}
	other.close()
	if got := budget.held.Load(); got != 0 {
		t.Errorf("room held = %d, want 0", got)
	}
}
