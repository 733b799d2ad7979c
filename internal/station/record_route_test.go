package station

import (
	"strings"
	"testing"

	"github.com/cuelight/cuelight/cues"
	"github.com/cuelight/cuelight/osc"
)

// docs/protocol.md §9: the OSC performance markers.
func TestRouteShowMarkers(t *testing.T) {
	t.Parallel()
	r := testRouter()
	withShow := &router{local: []string{"show"}, isMine: map[string]bool{"show": true}, all: []string{"show"}}
	s := osc.String
	for _, tc := range []struct {
		name   string
		r      *router
		msg    *osc.Message
		kind   routeKind
		marker marker
		reason string
	}{
		{"start with a name", r, osc.NewMessage("/cuelight/show/start", s("Evening, 12 May")), routeMarker, marker{"start", "Evening, 12 May"}, ""},
		{"act with a name", r, osc.NewMessage("/cuelight/show/act", s("Act 2")), routeMarker, marker{"act", "Act 2"}, ""},
		{"interval", r, osc.NewMessage("/cuelight/show/interval"), routeMarker, marker{"interval", ""}, ""},
		{"end, a press argument ignored", r, osc.NewMessage("/cuelight/show/end", osc.Int32(1)), routeMarker, marker{"end", ""}, ""},
		{"start without a name", r, osc.NewMessage("/cuelight/show/start"), routeError, marker{}, "needs the name"},
		{"act with a number only", r, osc.NewMessage("/cuelight/show/act", osc.Int32(2)), routeError, marker{}, "needs the name"},
		{"a control character in the name", r, osc.NewMessage("/cuelight/show/start", s("Act\x071")), routeError, marker{}, "control character"},
		{"a pattern is never a marker", r, osc.NewMessage("/cuelight/show/*"), routeError, marker{}, "write the command out"},
		{"another word under show is no marker", r, osc.NewMessage("/cuelight/show/go"), routeError, marker{}, "no channel show"},
		{"a channel named show keeps its verbs", withShow, osc.NewMessage("/cuelight/show/go", s("7")), routeCommands, marker{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.route(tc.msg)
			if got.kind != tc.kind || got.marker != tc.marker || !strings.Contains(got.reason, tc.reason) {
				t.Errorf("route(%v) = kind %d marker %+v reason %q; want kind %d marker %+v reason ~%q",
					tc.msg, got.kind, got.marker, got.reason, tc.kind, tc.marker, tc.reason)
			}
			if tc.kind == routeCommands && (len(got.cmds) != 1 || got.cmds[0].Verb != cues.VerbGo) {
				t.Errorf("cmds %+v", got.cmds)
			}
		})
	}
}
