package station

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/internal/mqttlink"
	"github.com/cuelight/cuelight/internal/recorder"
	"github.com/cuelight/cuelight/internal/report"
	"github.com/cuelight/cuelight/internal/tlsconf"
	"github.com/cuelight/cuelight/osc"
)

// The show log (docs/report.md, docs/protocol.md §9): performance markers
// from OSC, published on MQTT for the recorder; and, on the station with
// record: in its part of the show file, the recorder itself, run as one
// more task. The recorder is never on the cue path: it is an MQTT
// subscriber like any other, and when it cannot run (a corrupt database,
// one from a newer cuelight) it says so in the log and the station runs
// on without it.

// marker is a performance marker read from /cuelight/show/<kind>.
type marker struct {
	kind, name string
}

// isMarkerKind reports whether /cuelight/show/<kind> is a marker (other
// words there are left to a channel that may be named "show").
func isMarkerKind(kind string) bool {
	switch kind {
	case mqttlink.MarkerStart, mqttlink.MarkerAct, mqttlink.MarkerInterval, mqttlink.MarkerEnd:
		return true
	}
	return false
}

// routeShow reads /cuelight/show/start ,s <name>, /cuelight/show/act ,s
// <name>, /cuelight/show/interval and /cuelight/show/end.
func (r *router) routeShow(kind string, m *osc.Message) route {
	var name string
	for _, a := range m.Args {
		if v, ok := a.String(); ok {
			name = v
			break
		}
	}
	switch kind {
	case mqttlink.MarkerStart, mqttlink.MarkerAct:
		if name == "" {
			return route{kind: routeError, reason: "/cuelight/show/" + kind + " needs the name as a string argument"}
		}
	case mqttlink.MarkerInterval, mqttlink.MarkerEnd:
	default:
		return route{kind: routeError, reason: "unknown show marker " + kind + ": use start, act, interval or end"}
	}
	mk := mqttlink.Marker{Kind: kind, Name: name, At: mqttlink.FormatTime(time.Now()), ID: "x"}
	if err := mqttlink.CheckMarker(mk); err != nil {
		return route{kind: routeError, reason: err.Error()}
	}
	return route{kind: routeMarker, marker: marker{kind: kind, name: name}}
}

// publishMarker publishes a marker read from OSC on MQTT, for the
// recorder, and answers the sender with an error when it cannot. The
// marker is also a sign of life from the booth: the caller hands a
// heartbeat to the cue loop.
func (s *Station) publishMarker(address string, mk marker, back *osc.Sender) {
	if err := s.PublishMarker(mk.kind, mk.name, "osc"); err != nil {
		s.oscCount.errors.Add(1)
		s.rep.reply(back, osc.NewMessage("/cuelight/error", osc.String(address),
			osc.String(strings.TrimPrefix(err.Error(), "station: "))))
	}
}

// PublishMarker publishes a performance marker on MQTT for the show log
// (the desk page's "curtain up", "act", "interval", "curtain down"
// buttons; source "web"). kind is start, act, interval or end; start and
// act need a name. It never blocks; an error says what is wrong.
func (s *Station) PublishMarker(kind, name, source string) error {
	if !isMarkerKind(kind) {
		return fmt.Errorf("station: unknown show marker %q: use start, act, interval or end", kind)
	}
	mk := mqttlink.Marker{Kind: kind, Name: name, At: mqttlink.FormatTime(s.clock.Now()), Station: s.name, Source: source,
		ID: fmt.Sprintf("m-%s-%s-%d", s.name, s.epoch, s.markers.Add(1))}
	if err := mqttlink.CheckMarker(mk); err != nil {
		return fmt.Errorf("station: %w", err)
	}
	if s.link == nil {
		return errors.New("station: no MQTT link: the show log cannot hear the marker")
	}
	s.link.PublishMarker(mk)
	s.log.Info("performance marker", "marker", kind, "name", name, "src", source)
	return nil
}

// markerHeartbeat is what a marker hands to the cue loop: the booth was
// heard (docs/protocol.md §6.3).
func markerHeartbeat() route {
	return route{kind: routeCommands, cmds: []cues.Command{{Verb: cues.VerbHeartbeat, Source: cues.SourceOSC, FromBooth: true}}}
}

// recordPath is the show log's path when this station records, else "".
func (s *Station) recordPath() string {
	st, _ := s.cfg.Station(s.name)
	return st.Record
}

// runRecorder records the show into the show log until ctx is done. It
// never fails the station: a database it must not write to is reported
// in the log and left alone.
func (s *Station) runRecorder(ctx context.Context, brokerURL string) error {
	path := s.recordPath()
	log := s.log.With("part", "recorder")
	tlsConf, err := tlsconf.Client(s.cfg.MQTT.TLS)
	if err != nil {
		log.Error("show log NOT recorded: MQTT TLS settings", "err", err)
		return nil
	}
	db, err := recorder.Open(path)
	if err != nil {
		log.Error("show log NOT recorded: the database is left untouched", "db", path, "err", err)
		return nil
	}
	defer db.Close()
	rec, err := recorder.New(db, recorder.Options{
		Broker: brokerURL, Brokers: s.recorderBrokers(brokerURL), Username: s.cfg.MQTT.Username, Password: s.cfg.MQTT.Password, TLS: tlsConf,
		TopicPrefix: s.cfg.MQTT.TopicPrefix, Station: s.name, Clock: s.clock, Logger: log,
		OnStored: s.opts.onRecorded,
	})
	if err != nil {
		log.Error("show log NOT recorded", "err", err)
		return nil
	}
	log.Info("recording the show log", "db", path, "client_id", rec.ClientID())
	return rec.Run(ctx)
}

// recorderBrokers are the brokers the recorder tries, in the order the
// station's link does (mqtt.broker may list several).
func (s *Station) recorderBrokers(brokerURL string) []string {
	plan := s.cfg.BrokerFor(s.name)
	if plan.RunEmbedded || s.opts.MQTTBroker != "" || len(plan.URLs) == 0 {
		return []string{brokerURL}
	}
	return plan.URLs
}

// ReportHandler serves the performance report (GET /report, see
// report.Handler) from this station's show log; nil when this station
// does not record. The web listener mounts it.
func (s *Station) ReportHandler() http.Handler {
	path := s.recordPath()
	if path == "" {
		return nil
	}
	return report.Handler(func() (*recorder.DB, error) { return recorder.OpenReadOnly(path) }, s.ReportOptions())
}

// ReportOptions are the report's settings from the show file.
func (s *Station) ReportOptions() report.Options { return report.FromConfig(s.cfg) }
