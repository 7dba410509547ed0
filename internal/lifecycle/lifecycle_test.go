package lifecycle

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// journal records the calls of fake components.
type journal struct{ calls []string }

type fake struct {
	name              string
	j                 *journal
	startErr, stopErr error
	fail              chan error
}

func (f *fake) Start(context.Context) error {
	f.j.calls = append(f.j.calls, "start "+f.name)
	return f.startErr
}

func (f *fake) Stop() error {
	f.j.calls = append(f.j.calls, "stop "+f.name)
	return f.stopErr
}

type failing struct {
	*fake
}

func (f failing) Failed() <-chan error { return f.fail }

func TestStartStopOrder(t *testing.T) {
	j := &journal{}
	r := New(nil)
	for _, n := range []string{"store", "collector", "sensors", "ui"} {
		r.Add(n, &fake{name: n, j: j})
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); err != nil { // a second Stop stops nothing again
		t.Fatal(err)
	}
	want := []string{"start store", "start collector", "start sensors", "start ui", "stop ui", "stop sensors", "stop collector", "stop store"}
	if diff := cmp.Diff(j.calls, want); diff != "" {
		t.Errorf("calls (-got, +want):\n%s", diff)
	}
}

func TestFailedStartStopsTheStarted(t *testing.T) {
	j := &journal{}
	r := New(nil)
	boom := errors.New("address in use")
	r.Add("store", &fake{name: "store", j: j})
	r.Add("collector", &fake{name: "collector", j: j, startErr: boom})
	r.Add("ui", &fake{name: "ui", j: j})
	err := r.Start(t.Context())
	if !errors.Is(err, boom) || err.Error() != "start collector: address in use" {
		t.Errorf("Start() = %v, want the collector's error, named", err)
	}
	if diff := cmp.Diff(j.calls, []string{"start store", "start collector", "stop store"}); diff != "" {
		t.Errorf("calls (-got, +want):\n%s", diff)
	}
}

func TestStopErrorsAreJoined(t *testing.T) {
	j := &journal{}
	r := New(nil)
	r.Add("a", &fake{name: "a", j: j, stopErr: errors.New("a is stuck")})
	r.Add("b", &fake{name: "b", j: j, stopErr: errors.New("b is stuck")})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	err := r.Stop()
	if err == nil || err.Error() != "stop b: b is stuck\nstop a: a is stuck" {
		t.Errorf("Stop() = %q, want both errors, b first", err)
	}
	if !slices.Equal(j.calls[2:], []string{"stop b", "stop a"}) {
		t.Errorf("calls %v: every component is stopped despite errors", j.calls)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	j := &journal{}
	r := New(nil)
	r.Add("a", &fake{name: "a", j: j})
	r.Add("b", failing{&fake{name: "b", j: j, fail: make(chan error)}})
	ctx, cancel := context.WithCancel(t.Context())
	err := r.Run(ctx, cancel)
	if err != nil {
		t.Errorf("Run() = %v after a cancel, want nil", err)
	}
	if diff := cmp.Diff(j.calls, []string{"start a", "start b", "stop b", "stop a"}); diff != "" {
		t.Errorf("calls (-got, +want):\n%s", diff)
	}
}

func TestRunStopsOnFailure(t *testing.T) {
	j := &journal{}
	r := New(nil)
	fail := make(chan error, 1)
	r.Add("store", &fake{name: "store", j: j})
	r.Add("collector", failing{&fake{name: "collector", j: j, fail: fail}})
	r.Add("ui", &fake{name: "ui", j: j})
	done := make(chan error)
	go func() { done <- r.Run(t.Context(), func() { fail <- errors.New("listener closed") }) }()
	select {
	case err := <-done:
		if err == nil || err.Error() != "collector: listener closed" {
			t.Errorf("Run() = %v, want the collector's failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a component failed")
	}
	if diff := cmp.Diff(j.calls, []string{"start store", "start collector", "start ui", "stop ui", "stop collector", "stop store"}); diff != "" {
		t.Errorf("calls (-got, +want):\n%s", diff)
	}
}

func TestFuncs(t *testing.T) {
	var got []string
	c := Funcs{OnStart: func(context.Context) error { got = append(got, "on"); return nil }}
	if err := c.Start(t.Context()); err != nil || c.Stop() != nil || !slices.Equal(got, []string{"on"}) {
		t.Errorf("Funcs: %v %v", got, err)
	}
}
