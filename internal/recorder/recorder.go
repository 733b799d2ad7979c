package recorder

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jonboulle/clockwork"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

// Options configures a Recorder.
type Options struct {
	// Broker is the broker URL (tcp://, ssl://, ws://...).
	Broker string
	// Brokers, when set, are several broker URLs tried in order (a
	// persistent session lives on one broker: moving to another starts
	// a new one there, unless the brokers share sessions, as a cluster
	// does).
	Brokers []string
	// Username and Password authenticate to the broker, when it asks.
	Username, Password string
	// TLS configures ssl:// and wss:// connections (nil: system defaults).
	TLS *tls.Config
	// TopicPrefix is the show's first topic level, default "cuelight".
	TopicPrefix string
	// ClientID must stay the same across restarts: the broker keeps the
	// session (subscriptions and QoS 1 messages) under it while the
	// recorder is away. Default "cuelight-recorder-" + Station.
	ClientID string
	// Station names the station that runs the recorder (for the default
	// ClientID and the log).
	Station string
	// Clock stamps the receive time of each message. Default: real time.
	Clock clockwork.Clock
	// Logger receives the recorder's log; nil discards it.
	Logger *slog.Logger
	// OnStored, when set, is called after each message is committed or
	// skipped as a repeat (tests wait on it). It must not block.
	OnStored func(m Message, stored bool)
}

// Recorder records the show from MQTT into a DB.
type Recorder struct {
	db     *DB
	opts   Options
	prefix string
	log    *slog.Logger

	stored, skipped, failed atomic.Int64
	ctx                     atomic.Pointer[context.Context]
}

// New returns a recorder writing into db (opened with Open).
func New(db *DB, opts Options) (*Recorder, error) {
	if db == nil || db.ro {
		return nil, errors.New("recorder: a database opened for writing is required")
	}
	if opts.Broker == "" && len(opts.Brokers) > 0 {
		opts.Broker = opts.Brokers[0]
	}
	if opts.Broker == "" {
		return nil, errors.New("recorder: Options.Broker is required")
	}
	if opts.TopicPrefix == "" {
		opts.TopicPrefix = mqttlink.DefaultTopicPrefix
	}
	if opts.ClientID == "" {
		opts.ClientID = "cuelight-recorder"
		if opts.Station != "" {
			opts.ClientID += "-" + opts.Station
		}
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Recorder{db: db, opts: opts, prefix: strings.TrimSuffix(opts.TopicPrefix, "/"), log: opts.Logger}, nil
}

// Stored is how many messages were committed; Skipped how many were
// repeats (retained replays, redeliveries) and not stored again.
func (r *Recorder) Stored() int64  { return r.stored.Load() }
func (r *Recorder) Skipped() int64 { return r.skipped.Load() }

// ClientID is the MQTT client id the broker keeps the session under.
func (r *Recorder) ClientID() string { return r.opts.ClientID }

// Run connects with a persistent session (clean session false, QoS 1
// subscriptions, a fixed client id) and records until ctx is done. It
// returns nil on a clean stop; it keeps retrying while the broker is
// away.
func (r *Recorder) Run(ctx context.Context) error {
	r.ctx.Store(&ctx)
	filters := map[string]byte{}
	for _, f := range Filters(r.prefix) {
		filters[f] = 1
	}
	mo := paho.NewClientOptions()
	brokers := r.opts.Brokers
	if len(brokers) == 0 {
		brokers = []string{r.opts.Broker}
	}
	for _, b := range brokers {
		mo.AddBroker(b)
	}
	mo.
		SetClientID(r.opts.ClientID).
		SetUsername(r.opts.Username).SetPassword(r.opts.Password).
		SetCleanSession(false). // the broker keeps our QoS 1 messages while we are away
		SetOrderMatters(true).  // one handler at a time, in arrival order
		SetAutoAckDisabled(true).
		SetAutoReconnect(true).SetMaxReconnectInterval(2 * time.Second).
		SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetConnectTimeout(5 * time.Second).
		SetKeepAlive(10 * time.Second).SetPingTimeout(5 * time.Second).
		SetResumeSubs(true).
		// Queued messages arrive right after CONNACK, before Subscribe:
		// the default handler takes them.
		SetDefaultPublishHandler(r.onMessage).
		SetOnConnectHandler(func(c paho.Client) {
			t := c.SubscribeMultiple(filters, r.onMessage)
			if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
				r.log.Error("recorder: subscribe failed; reconnecting", "err", t.Error())
				return
			}
			r.note("connected", "")
			r.log.Info("recorder connected", "broker", r.opts.Broker, "client_id", r.opts.ClientID, "db", r.db.Path())
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			r.log.Warn("recorder lost the broker; reconnecting", "err", err)
			r.note("lost", err.Error())
		})
	if r.opts.TLS != nil {
		mo.SetTLSConfig(r.opts.TLS)
	}
	c := paho.NewClient(mo)
	c.Connect() // retries in the background (ConnectRetry)
	<-ctx.Done()
	c.Disconnect(250)
	return nil
}

// note records the recorder's own connection changes: a broker outage
// shows in the report's faults.
func (r *Recorder) note(event, reason string) {
	now := r.opts.Clock.Now()
	b, _ := json.Marshal(map[string]string{"event": event, "reason": reason, "client_id": r.opts.ClientID, "at": mqttlink.FormatTime(now)})
	m := Message{Received: now, At: now, Topic: r.prefix + "/recorder/" + r.opts.ClientID, Kind: KindRecorder, Station: r.opts.Station, Payload: b}
	if _, err := r.db.Insert(context.Background(), &m, false); err != nil {
		r.log.Error("recorder: cannot record its own connection change", "err", err)
	}
}

// onMessage stores one message, then acknowledges it: a message is never
// acknowledged before it is committed. It runs on paho's router goroutine,
// one message at a time.
func (r *Recorder) onMessage(_ paho.Client, pm paho.Message) {
	kind, station, channel, at, ok := Classify(r.prefix, pm.Topic(), pm.Payload())
	if !ok {
		pm.Ack()
		return
	}
	now := r.opts.Clock.Now()
	if at.IsZero() {
		at = now
	}
	m := Message{Received: now, At: at, Topic: pm.Topic(), Kind: kind, Station: station, Channel: channel,
		Retained: pm.Retained(), Payload: append([]byte(nil), pm.Payload()...)}
	ctx := context.Background()
	if p := r.ctx.Load(); p != nil {
		ctx = *p
	}
	for attempt := 0; ; attempt++ {
		stored, err := r.db.Insert(context.WithoutCancel(ctx), &m, pm.Duplicate())
		if err == nil {
			if stored {
				r.stored.Add(1)
			} else {
				r.skipped.Add(1)
			}
			pm.Ack()
			if r.opts.OnStored != nil {
				r.opts.OnStored(m, stored)
			}
			return
		}
		r.failed.Add(1)
		if attempt == 0 {
			r.log.Error("recorder: cannot store a message; retrying (it stays unacknowledged at the broker)", "topic", m.Topic, "err", err)
		}
		select {
		case <-ctx.Done():
			return // not acknowledged: the broker delivers it again next time
		case <-time.After(time.Second):
		}
	}
}

// Run opens the database at path and records until ctx is done: the
// whole recorder as one call, for the station's task and cuectl's hidden
// record command.
func Run(ctx context.Context, path string, opts Options) error {
	db, err := Open(path)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := New(db, opts)
	if err != nil {
		return err
	}
	if err := r.Run(ctx); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	return nil
}
