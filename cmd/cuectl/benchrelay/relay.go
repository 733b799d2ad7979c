// Package benchrelay is the yardstick of "cuectl bench": the least relay
// from OSC to MQTT that the station's own client library can be. It reads
// a datagram, takes the channel and label of a /cuelight/<ch>/standby
// message, and calls paho's Publish (QoS 1, retained) without waiting for
// the acknowledgement. Nothing else: no state machine, no lamps, no
// validation, no queue of its own.
//
// cuectl runs it in a process of its own ("cuectl bench --serve-relay"),
// on the station's broker and under the same subscriber, so that the
// station's "OSC standby → MQTT state" latency can be read against it (see
// docs/performance.md).
package benchrelay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/cuelight/cuelight/osc"
)

// DefaultPrefix is the relay's topic prefix: its states go to
// <prefix>/channel/<ch>/state, apart from the show's.
const DefaultPrefix = "cuelight-bench-relay"

// Options configures Run.
type Options struct {
	Broker             string // tcp:// URL
	Username, Password string
	Prefix             string // default DefaultPrefix
	ClientID           string // default "cuelight-bench-relay-<pid-ish>"
}

// State is what the relay publishes: the channel and the label, which is
// all the bench's subscriber matches on.
type State struct {
	Channel string `json:"channel"`
	Label   string `json:"label"`
}

// Run connects to the broker, calls ready with pc's address once
// connected, then relays datagrams from pc until ctx ends or pc is closed.
func Run(ctx context.Context, pc net.PacketConn, o Options, ready func(addr string)) error {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.ClientID == "" {
		o.ClientID = fmt.Sprintf("cuelight-bench-relay-%d", time.Now().UnixNano())
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).
		SetUsername(o.Username).SetPassword(o.Password).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if t := c.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return fmt.Errorf("benchrelay: connect %s: %v", o.Broker, t.Error())
	}
	defer c.Disconnect(100)
	go func() {
		<-ctx.Done()
		pc.Close()
	}()
	ready(pc.LocalAddr().String())
	buf := make([]byte, 65536)
	var m osc.Message
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("benchrelay: %w", err)
		}
		if m.UnmarshalBinary(buf[:n]) != nil {
			continue
		}
		ch, ok := strings.CutPrefix(m.Address, "/cuelight/")
		if ch, ok = strings.CutSuffix(ch, "/standby"); !ok || len(m.Args) == 0 {
			continue
		}
		label, _ := m.Args[0].String()
		b, _ := json.Marshal(State{Channel: ch, Label: label})
		c.Publish(o.Prefix+"/channel/"+ch+"/state", 1, true, b) // no waiting
	}
}
