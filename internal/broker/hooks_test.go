package broker

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/bcrypt"
)

// hash makes a cheap bcrypt hash for tests (cost 4; production uses 10).
func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func testUsers(t testing.TB) []User {
	return []User{
		{Name: "qlab", BcryptHash: hash(t, "booth-pw"), Role: RoleBooth},
		{Name: "sr-wing", BcryptHash: hash(t, "station-pw"), Role: RoleStation},
		{Name: "wall", BcryptHash: hash(t, "viewer-pw"), Role: RoleViewer},
	}
}

func TestIsLoopbackListen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr    string
		want    bool
		wantErr bool
	}{
		{"127.0.0.1:1883", true, false},
		{"127.0.0.2:1883", true, false},
		{"localhost:1883", true, false},
		{"[::1]:1883", true, false},
		{"127.0.0.1:0", true, false},
		{":1883", false, false},
		{"0.0.0.0:1883", false, false},
		{"[::]:1883", false, false},
		{"10.10.0.5:1883", false, false},
		{"192.0.2.2:1883", false, false},
		{"[fe80::1%eth0]:1883", false, false},
		{"pi.local:1883", false, false},
		{"127.0.0.1", false, true},
		{"127.0.0.1:http", false, true},
		{"127.0.0.1:70000", false, true},
	} {
		got, err := IsLoopbackListen(tc.addr)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("IsLoopbackListen(%q) = %v, %v; want %v, error %v", tc.addr, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestOptionsCheck(t *testing.T) {
	t.Parallel()
	good := hash(t, "pw")
	for _, tc := range []struct {
		name    string
		opts    Options
		wantErr string
		is      error
	}{
		{"defaults", Options{}, "", nil},
		{"loopback with users", Options{Users: []User{{Name: "a", BcryptHash: good, Role: RoleBooth}}}, "", nil},
		{"all interfaces without users", Options{Listen: ":1883"}, "anonymous access is allowed only on loopback", ErrAnonymousOffLoopback},
		{"lan address without users", Options{Listen: "10.10.0.5:1883"}, "listen 10.10.0.5:1883", ErrAnonymousOffLoopback},
		{"lan address with users", Options{Listen: "10.10.0.5:1883", Users: []User{{Name: "a", BcryptHash: good, Role: RoleViewer}}}, "", nil},
		{"empty user name", Options{Users: []User{{BcryptHash: good, Role: RoleBooth}}}, "empty name", nil},
		{"twice", Options{Users: []User{{Name: "a", BcryptHash: good, Role: RoleBooth}, {Name: "a", BcryptHash: good, Role: RoleViewer}}}, `"a" listed twice`, nil},
		{"unknown role", Options{Users: []User{{Name: "a", BcryptHash: good, Role: "admin"}}}, `role "admin" is not one of booth, station, viewer`, nil},
		{"plain password", Options{Users: []User{{Name: "a", BcryptHash: "secret", Role: RoleBooth}}}, "not a bcrypt hash", nil},
		{"bad listen", Options{Listen: "nonsense"}, "listen address", nil},
		{"tiny packets", Options{MaxPacketSize: 10}, "too small", nil},
	} {
		err := tc.opts.Check()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.wantErr)
		case tc.is != nil && !errors.Is(err, tc.is):
			t.Errorf("%s: error %v is not %v", tc.name, err, tc.is)
		}
	}
}

func TestPolicyWrite(t *testing.T) {
	t.Parallel()
	p := newPolicy("cuelight", nil)
	topics := []string{
		"cuelight/channel/fly/cmd", "cuelight/all/cmd", // commands
		"cuelight/station/sl-wing/status", "cuelight/channel/fly/state", "cuelight/channel/fly/event", // station topics
		"cuelight/channel/fly/other", "other/thing", "cuelight/channel//cmd", "cuelight/all/cmd/x", // neither
	}
	want := map[string]string{ // role → which topics (by index) it may write
		"":          "111111111",
		RoleBooth:   "110000000",
		RoleStation: "111110000",
		RoleViewer:  "000000000",
		"bogus":     "000000000",
	}
	for role, mask := range want {
		for i, topic := range topics {
			if got := p.canWrite(role, topic); got != (mask[i] == '1') {
				t.Errorf("role %q writing %s: %v, want %v", role, topic, got, !got)
			}
		}
	}
	q := newPolicy("theatre/cuelight", nil)
	if !q.isCmd("theatre/cuelight/channel/sl/cmd") || q.isCmd("cuelight/channel/sl/cmd") {
		t.Error("a multi-level prefix is not matched exactly")
	}
}

func TestPolicyAuthenticate(t *testing.T) {
	t.Parallel()
	p := newPolicy("cuelight", testUsers(t))
	for _, tc := range []struct {
		name, remote, user, pass string
		will                     *willMsg
		ok                       bool
		role                     string
	}{
		{"anonymous on loopback", "127.0.0.1:50000", "", "", nil, true, ""},
		{"anonymous on ::1", "[::1]:50000", "", "", nil, true, ""},
		{"anonymous off loopback", "192.0.2.7:50000", "", "", nil, false, ""},
		{"booth, right password", "192.0.2.7:50000", "qlab", "booth-pw", nil, true, RoleBooth},
		{"booth, wrong password", "192.0.2.7:50000", "qlab", "nope", nil, false, ""},
		{"booth, wrong password on loopback", "127.0.0.1:50000", "qlab", "nope", nil, false, ""},
		{"unknown user", "192.0.2.7:50000", "mallory", "booth-pw", nil, false, ""},
		{"unknown user with a known hash's password", "192.0.2.7:50000", "mallory", "viewer-pw", nil, false, ""},
		{"viewer", "192.0.2.7:50000", "wall", "viewer-pw", nil, true, RoleViewer},
		{"station with its status will", "192.0.2.7:50000", "sr-wing", "station-pw", &willMsg{"cuelight/station/sr-wing/status", true}, true, RoleStation},
		{"viewer with a command will", "192.0.2.7:50000", "wall", "viewer-pw", &willMsg{"cuelight/all/cmd", false}, false, ""},
		{"booth with a non-retained command will", "192.0.2.7:50000", "qlab", "booth-pw", &willMsg{"cuelight/all/cmd", false}, true, RoleBooth},
		{"booth with a retained command will", "192.0.2.7:50000", "qlab", "booth-pw", &willMsg{"cuelight/all/cmd", true}, false, ""},
		{"anonymous with a retained command will", "127.0.0.1:50000", "", "", &willMsg{"cuelight/channel/fly/cmd", true}, false, ""},
	} {
		role, ok, why := p.authenticate(tc.remote, []byte(tc.user), []byte(tc.pass), tc.will)
		if ok != tc.ok || (ok && role != tc.role) {
			t.Errorf("%s: ok=%v role=%q (%s); want ok=%v role=%q", tc.name, ok, role, why, tc.ok, tc.role)
		}
		if !ok && why == "" {
			t.Errorf("%s: refused without a reason", tc.name)
		}
	}
}

// The hooks as mochi calls them, with mochi's own types.
func TestHooksWithMochiTypes(t *testing.T) {
	t.Parallel()
	p := newPolicy("cuelight", testUsers(t))
	log := slog.New(slog.DiscardHandler)
	auth := &authHook{p: p, log: log}
	guard := &cmdGuard{p: p, log: log}

	connect := func(remote, user, pass string) (*mqtt.Client, packets.Packet) {
		cl := &mqtt.Client{ID: "c-" + user}
		cl.Net.Remote = remote
		cl.Properties.Username = []byte(user)
		pk := packets.Packet{Connect: packets.ConnectParams{Username: []byte(user), Password: []byte(pass), UsernameFlag: user != "", PasswordFlag: pass != ""}}
		return cl, pk
	}
	if cl, pk := connect("10.0.0.9:4000", "", ""); auth.OnConnectAuthenticate(cl, pk) {
		t.Error("anonymous client off loopback accepted")
	}
	if cl, pk := connect("10.0.0.9:4000", "qlab", "wrong"); auth.OnConnectAuthenticate(cl, pk) {
		t.Error("bad password accepted")
	}
	booth, pk := connect("10.0.0.9:4000", "qlab", "booth-pw")
	if !auth.OnConnectAuthenticate(booth, pk) {
		t.Fatal("booth refused")
	}
	viewer, pk := connect("10.0.0.9:4001", "wall", "viewer-pw")
	if !auth.OnConnectAuthenticate(viewer, pk) {
		t.Fatal("viewer refused")
	}
	if !auth.OnACLCheck(booth, "cuelight/channel/fly/cmd", true) || !auth.OnACLCheck(booth, "cuelight/#", false) {
		t.Error("booth may not write a command or read")
	}
	if auth.OnACLCheck(viewer, "cuelight/channel/fly/cmd", true) || auth.OnACLCheck(viewer, "cuelight/all/cmd", true) {
		t.Error("viewer may write a command")
	}
	if !auth.OnACLCheck(viewer, "cuelight/#", false) {
		t.Error("viewer may not read")
	}
	if auth.OnACLCheck(booth, "cuelight/channel/fly/state", true) {
		t.Error("booth may write a channel state")
	}

	for _, tc := range []struct {
		topic  string
		retain bool
		ignore bool
	}{
		{"cuelight/channel/fly/cmd", true, true},
		{"cuelight/all/cmd", true, true},
		{"cuelight/channel/fly/cmd", false, false},
		{"cuelight/channel/fly/state", true, false},
		{"elsewhere/channel/fly/cmd", true, false},
	} {
		pk := packets.Packet{TopicName: tc.topic, FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: tc.retain, Qos: 1}}
		_, err := guard.OnPublish(booth, pk)
		if got := errors.Is(err, packets.CodeSuccessIgnore); got != tc.ignore {
			t.Errorf("publish %s retain=%v: ignored=%v, want %v (err %v)", tc.topic, tc.retain, got, tc.ignore, err)
		}
	}
}
