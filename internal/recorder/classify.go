package recorder

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/cuelight/cuelight/internal/mqttlink"
)

// Classify reads a message's topic (under prefix) and payload: its kind,
// station, channel and own time. ok is false for a topic the recorder does
// not keep. A payload that cannot be read is still kept (it is part of
// what happened); its time is then zero and the receive time stands in.
func Classify(prefix, topic string, payload []byte) (kind, station, channel string, at time.Time, ok bool) {
	rest, found := strings.CutPrefix(topic, strings.TrimSuffix(prefix, "/")+"/")
	if !found {
		return "", "", "", time.Time{}, false
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 3 && parts[0] == "channel" && parts[1] != "":
		channel = parts[1]
		switch parts[2] {
		case "state":
			kind = KindState
			var s mqttlink.State
			if json.Unmarshal(payload, &s) == nil {
				station, at = s.Station, parseTime(s.Since)
			}
		case "event":
			kind = KindEvent
			var e mqttlink.Event
			if json.Unmarshal(payload, &e) == nil {
				station, at = e.Station, parseTime(e.At)
			}
		case "cmd":
			kind = KindCmd
			var c mqttlink.Command
			if json.Unmarshal(payload, &c) == nil {
				at = parseTime(c.TS)
			}
		default:
			return "", "", "", time.Time{}, false
		}
	case len(parts) == 2 && parts[0] == "all" && parts[1] == "cmd":
		kind = KindCmd
		var c mqttlink.Command
		if json.Unmarshal(payload, &c) == nil {
			at = parseTime(c.TS)
		}
	case len(parts) == 3 && parts[0] == "station" && parts[1] != "":
		station = parts[1]
		switch parts[2] {
		case "status":
			kind = KindStatus
		case "info":
			kind = KindInfo
		default:
			return "", "", "", time.Time{}, false
		}
	case len(parts) == 2 && parts[0] == "show" && parts[1] == "marker":
		kind = KindMarker
		if m, err := mqttlink.ParseMarker(payload); err == nil {
			station, at = m.Station, parseTime(m.At)
		}
	default:
		return "", "", "", time.Time{}, false
	}
	return kind, station, channel, at, true
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}

// Filters are the MQTT subscriptions of the recorder under prefix: every
// state, event, command, station status and info, and the markers.
func Filters(prefix string) []string {
	p := strings.TrimSuffix(prefix, "/")
	return []string{
		p + "/channel/+/state", p + "/channel/+/event", p + "/channel/+/cmd", p + "/all/cmd",
		p + "/station/+/status", p + "/station/+/info", p + "/show/marker",
	}
}
