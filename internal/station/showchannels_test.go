package station

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cuelight/cuelight/config"
)

// TestShowChannels: the show-wide view subscribes to other stations'
// channels one by one, never to this station's own; an empty list (a show
// of one station) subscribes to no channel; past maxShowFilterChannels it
// takes every channel by wildcard (nil).
func TestShowChannels(t *testing.T) {
	show := func(n int) *config.Config {
		cfg := &config.Config{Channels: []config.Channel{{Name: "fly", Station: "wing"}, {Name: "trap", Station: "wing"}}}
		for i := range n {
			cfg.Channels = append(cfg.Channels, config.Channel{Name: fmt.Sprintf("c%d", i), Station: "other"})
		}
		return cfg
	}
	mine := map[string]bool{"fly": true, "trap": true}
	if got := showChannels(show(2), mine); !slices.Equal(got, []string{"c0", "c1"}) {
		t.Errorf("two other channels: %q, want [c0 c1]", got)
	}
	if got := showChannels(show(0), mine); got == nil || len(got) != 0 {
		t.Errorf("no other channel: %#v, want an empty list (not nil: nil is every channel)", got)
	}
	if got := showChannels(show(maxShowFilterChannels), mine); len(got) != maxShowFilterChannels {
		t.Errorf("%d other channels: %d filters' worth, want all of them", maxShowFilterChannels, len(got))
	}
	if got := showChannels(show(maxShowFilterChannels+1), mine); got != nil {
		t.Errorf("%d other channels: %q, want nil (wildcards)", maxShowFilterChannels+1, got)
	}
}
