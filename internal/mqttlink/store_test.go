package mqttlink

import (
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestGateStoreGetCopiesPublish: the store keeps a copy of a PUBLISH and
// hands out copies, so the packet paho's writer sends (and mutates) and
// the one its resume reads (and marks DUP) are never the same; other
// packets come back as they are.
func TestGateStoreGetCopiesPublish(t *testing.T) {
	g := newGateStore(paho.NewOrderedMemoryStore())
	g.Open()
	defer g.Close()
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.Qos, pub.MessageID, pub.TopicName, pub.Payload = 1, 7, "cuelight/channel/fly/state", []byte(`{"label":"23"}`)
	g.Put("o.7", pub)
	pub.FixedHeader.RemainingLength = 99 // paho's writer, after Put
	got, ok := g.Get("o.7").(*packets.PublishPacket)
	if !ok {
		t.Fatalf("Get returned %T", g.Get("o.7"))
	}
	if got == pub {
		t.Fatal("Get returned the stored PUBLISH itself, not a copy")
	}
	if got.RemainingLength == 99 {
		t.Error("the store kept the packet paho writes, not a copy")
	}
	if got.MessageID != 7 || got.TopicName != pub.TopicName || string(got.Payload) != `{"label":"23"}` || got.Qos != 1 {
		t.Errorf("copy differs: %+v", got)
	}
	got.Dup = true // what paho's resume does
	if pub.Dup {
		t.Error("setting DUP on what Get returned changed the packet paho writes")
	}
	if again := g.Get("o.7").(*packets.PublishPacket); again == got || again.Dup {
		t.Error("a second Get returned the first one's packet")
	}

	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID, sub.Topics, sub.Qoss = 8, []string{"x"}, []byte{1}
	g.Put("o.8", sub)
	if g.Get("o.8") != packets.ControlPacket(sub) {
		t.Error("a SUBSCRIBE should come back as stored")
	}
}
