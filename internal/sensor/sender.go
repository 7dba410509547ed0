package sensor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	"github.com/nightjar-telescope/nightjar/internal/sensor/spool"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1"
	"github.com/nightjar-telescope/nightjar/internal/wire/sensorv1/sensorv1connect"
)

// sender sends the spool to the collector, oldest batch first, with up to
// window batches unacknowledged, and removes each batch from the spool
// when the collector acknowledges it. After a broken stream it reconnects
// with a growing, jittered delay and sends every unacknowledged batch
// again: the collector de-duplicates them.
type sender struct {
	name      string
	client    sensorv1connect.CollectorServiceClient
	spool     *spool.Spool
	window    int
	heartbeat time.Duration
	health    func() *sensorv1.Health
	log       *slog.Logger

	acked, duplicates, rejected atomic.Uint64 // batches, by the collector's answer
	connected                   atomic.Bool
	reconnects                  atomic.Uint64
}

// newHTTPClient returns an HTTP/2 client over mutual TLS.
func newHTTPClient(tlsConfig *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:     tlsConfig,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// run sends until ctx is done.
func (s *sender) run(ctx context.Context) {
	const minDelay, maxDelay = 500 * time.Millisecond, 15 * time.Second
	delay := minDelay
	for ctx.Err() == nil {
		progressed, err := s.session(ctx)
		s.connected.Store(false)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			delay = minDelay
		}
		s.reconnects.Add(1)
		wait := delay/2 + rand.N(delay/2+1)
		s.log.Warn("collector stream ended; reconnecting", "err", err, "in_seconds", wait.Round(time.Millisecond).Seconds())
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		delay = min(2*delay, maxDelay)
	}
}

// session runs one stream; progressed says whether any batch was
// acknowledged in it.
func (s *sender) session(ctx context.Context) (progressed bool, err error) {
	// The stream outlives ctx by a last health report (see below).
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stream := s.client.Send(sctx)
	defer stream.CloseRequest() //nolint:errcheck // the stream is over either way
	// The first message is a heartbeat: it opens the stream, and the
	// collector checks the certificate before any batch is read.
	if err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Health: s.health()}); err != nil {
		return false, s.streamError(stream, err)
	}
	acks := make(chan *sensorv1.Ack)
	recvErr := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Receive()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case acks <- resp.GetAck():
			case <-sctx.Done():
				return
			}
		}
	}()
	s.connected.Store(true)
	s.log.Info("connected to the collector")
	inflight := map[[2]uint64]bool{}
	heartbeat := time.NewTicker(s.heartbeat)
	defer heartbeat.Stop()
	for {
		// Fill the window with the oldest batches not yet in flight.
		if len(inflight) < s.window {
			next := s.spool.Oldest(s.window-len(inflight), func(e spool.Entry) bool { return inflight[[2]uint64{e.Epoch, e.Seq}] })
			for _, e := range next {
				k := [2]uint64{e.Epoch, e.Seq}
				b, err := s.spool.Read(e)
				if errors.Is(err, spool.ErrGone) {
					continue
				}
				if err != nil {
					s.log.Error("spooled batch unreadable; discarded", "epoch", e.Epoch, "seq", e.Seq, "records", e.Count, "err", err)
					s.spool.Discard(e) //nolint:errcheck // counted in the spool's stats either way
					continue
				}
				if err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Health: s.health(), Batch: b}); err != nil {
					return progressed, s.streamError(stream, err)
				}
				inflight[k] = true
				heartbeat.Reset(s.heartbeat)
			}
		}
		select {
		case a := <-acks:
			k := [2]uint64{a.GetEpoch(), a.GetSeq()}
			delete(inflight, k)
			switch a.GetStatus() {
			case sensorv1.Status_STATUS_STORED:
				s.acked.Add(1)
			case sensorv1.Status_STATUS_DUPLICATE:
				s.duplicates.Add(1)
			default:
				s.rejected.Add(1)
				s.log.Error("collector rejected a batch; dropped", "epoch", a.GetEpoch(), "seq", a.GetSeq(), "reason", a.GetMessage())
			}
			progressed = true
			if err := s.spool.Remove(a.GetEpoch(), a.GetSeq()); err != nil && !errors.Is(err, spool.ErrGone) {
				return progressed, fmt.Errorf("remove acknowledged batch: %w", err)
			}
		case <-s.spool.Notify():
		case <-heartbeat.C:
			if err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Health: s.health()}); err != nil {
				return progressed, s.streamError(stream, err)
			}
		case err := <-recvErr:
			return progressed, err
		case <-ctx.Done():
			// A last health report, so that the collector keeps the state
			// the sensor stopped in (its spool, its counts).
			err := stream.Send(&sensorv1.SendRequest{Sensor: s.name, Health: s.health()})
			if err == nil {
				err = stream.CloseRequest()
			}
			if err == nil {
				select {
				case <-recvErr:
				case <-time.After(time.Second):
					err = errors.New("no answer within a second")
				}
			}
			if err != nil {
				s.log.Warn("the last health report may not have reached the collector", "err", err)
			}
			return progressed, ctx.Err()
		}
	}
}

// streamError returns the collector's reason for a failed Send: connect
// reports io.EOF from Send and the error itself from Receive.
func (s *sender) streamError(stream *connect.BidiStreamForClient[sensorv1.SendRequest, sensorv1.SendResponse], err error) error {
	if _, rerr := stream.Receive(); rerr != nil {
		return rerr
	}
	return err
}
