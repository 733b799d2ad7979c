package recorder

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/peertest"
	"github.com/cuelight/cuelight/internal/testkit"
)

// TestMain doubles as the recorder process of the crash test: with
// CUELIGHT_RECORDER_CHILD set, the test binary records into that database
// from CUELIGHT_RECORDER_BROKER until SIGTERM (or kill -9).
func TestMain(m *testing.M) {
	if path := os.Getenv("CUELIGHT_RECORDER_CHILD"); path != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		err := Run(ctx, path, Options{Broker: os.Getenv("CUELIGHT_RECORDER_BROKER"), ClientID: "cuelight-recorder-crash"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const waitLong = 60 * time.Second

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMosquitto runs Mosquitto on a free loopback port (sessions kept in
// memory while it runs, as by default).
func startMosquitto(t *testing.T) string {
	t.Helper()
	bin := peertest.Need(t, "mosquitto")
	port := freePort(t)
	conf := filepath.Join(t.TempDir(), "mosquitto.conf")
	text := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 5000\n", port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var log testkit.SyncBuffer
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", log.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitUntil(t, "mosquitto listening", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "tcp://" + addr
}

// child is one recorder process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *testkit.SyncBuffer
}

func startChild(t *testing.T, db, broker string) *child {
	t.Helper()
	c := &child{done: make(chan struct{}), log: &testkit.SyncBuffer{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(), "CUELIGHT_RECORDER_CHILD="+db, "CUELIGHT_RECORDER_BROKER="+broker)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("recorder process output:\n%s", c.log.String())
		}
	})
	return c
}

func (c *child) kill9(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.done
}

func (c *child) stop(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(waitLong):
		t.Fatal("the recorder did not stop on SIGTERM")
	}
}

// countIn reads the log (read-only, as a report would while the recorder
// writes it).
func countIn(t *testing.T, path, kind string) []Message {
	t.Helper()
	db, err := OpenReadOnly(path)
	if err != nil {
		return nil // not created yet
	}
	defer db.Close()
	ms, err := db.Kind(context.Background(), kind)
	if err != nil {
		return nil
	}
	return ms
}

// docs/report.md: nothing is lost while the recorder is down. The
// recorder runs as its own process against Mosquitto; it is killed with
// SIGKILL, 500 events are published, it is started again: all 500 are in
// the log once, in order. Then it is killed again in the middle of a
// second burst of 500: still every event once, in order.
func TestRecorderCrashLosesNothing(t *testing.T) {
	broker := startMosquitto(t)
	path := filepath.Join(t.TempDir(), "showlog.db")

	c := startChild(t, path, broker)
	waitUntil(t, "the recorder connected", func() bool { return len(countIn(t, path, KindRecorder)) > 0 })
	c.kill9(t)

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("crash-publisher").SetCleanSession(true))
	if tok := pub.Connect(); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	publish := func(from, to int) {
		for seq := from; seq <= to; seq++ {
			e := mqttlink.Event{Event: "press", Channel: "fly", Station: "wing", Label: "", Source: "button",
				At: mqttlink.FormatTime(t0.Add(time.Duration(seq) * time.Millisecond)), Seq: int64(seq), Epoch: "crash"}
			b, _ := json.Marshal(e)
			if tok := pub.Publish("cuelight/channel/fly/event", 1, false, b); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
				t.Errorf("publish %d: %v", seq, tok.Error())
				return
			}
		}
	}
	publish(1, 500)

	c = startChild(t, path, broker)
	waitUntil(t, "500 events in the log", func() bool { return len(countIn(t, path, KindEvent)) >= 500 })

	// Killed again in the middle of a burst.
	go publish(501, 1000)
	waitUntil(t, "part of the second burst in the log", func() bool { return len(countIn(t, path, KindEvent)) >= 600 })
	c.kill9(t)
	c = startChild(t, path, broker)
	waitUntil(t, "1000 events in the log", func() bool { return len(countIn(t, path, KindEvent)) >= 1000 })
	c.stop(t)

	events := countIn(t, path, KindEvent)
	if len(events) != 1000 {
		t.Errorf("%d events in the log, want 1000 (each once)", len(events))
	}
	for i, m := range events {
		var e mqttlink.Event
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d of the log has seq %d: lost, repeated or out of order", i+1, e.Seq)
		}
	}
}

// A message the recorder could not store is not acknowledged: the broker
// keeps it and delivers it again to the next recorder of the same session.
func TestUnstoredMessageIsNotAcknowledged(t *testing.T) {
	broker := startMosquitto(t)
	dir := t.TempDir()
	first, err := Open(filepath.Join(dir, "first.db"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Broker: broker, ClientID: "cuelight-recorder-unacked"}
	r1, err := New(first, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r1.Run(ctx); close(done) }()
	waitUntil(t, "the first recorder connected", func() bool {
		ms, _ := first.Kind(context.Background(), KindRecorder)
		return len(ms) > 0
	})
	first.Close() // every insert fails from now on
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("unacked-publisher"))
	if tok := pub.Connect(); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(100)
	if tok := pub.Publish("cuelight/station/far/status", 1, false, "offline"); !tok.WaitTimeout(waitLong) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	waitUntil(t, "the first recorder to fail storing it", func() bool { return r1.failed.Load() > 0 })
	cancel()
	<-done

	second, err := Open(filepath.Join(dir, "second.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	r2, err := New(second, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { _ = r2.Run(ctx2) }()
	waitUntil(t, "the message delivered again and stored", func() bool {
		ms, _ := second.Kind(context.Background(), KindStatus)
		return len(ms) == 1 && string(ms[0].Payload) == "offline"
	})
}
