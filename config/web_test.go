package config

import (
	"slices"
	"strings"
	"testing"
)

const webHash = "$2a$12$P1UIQ7CQKGdRP..3rQbYDe/pQ1HA5/mxpA0HZdx6qx54RyTWJwn6."

func TestWebUsers(t *testing.T) {
	t.Parallel()
	good := `
show: x
web:
  listen: 0.0.0.0:8080
  desk_go: true
  users:
    psm: {password_hash: "` + webHash + `", role: sm}
    fly-op: {password_hash: "` + webHash + `", role: crew, channels: [fly]}
    front: {password_hash: "` + webHash + `", role: viewer}
stations: {a: {driver: sim}}
channels:
  fly: {standby_lamp: GPIO17}
`
	c, err := Parse(strings.NewReader(good), "show.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Web.DeskGo || len(c.Web.Users) != 3 || c.Web.Users[1].Role != WebRoleCrew || !slices.Equal(c.Web.Users[1].Channels, []string{"fly"}) || c.Web.Users[0].PasswordHash != webHash {
		t.Errorf("web: %+v", c.Web)
	}
	def, err := Parse(strings.NewReader("show: x\nstations: {a: {driver: sim}}\nchannels:\n  fly: {standby_lamp: GPIO17}\n"), "show.yaml")
	if err != nil || def.Web.DeskGo || len(def.Web.Users) != 0 {
		t.Errorf("defaults: %+v %v", def.Web, err)
	}

	bad := []struct{ name, web, want string }{
		{"beyond loopback without users", "web:\n  listen: 0.0.0.0:8080\n",
			"show.yaml:4: web.listen: 0.0.0.0:8080 is reachable beyond this machine and web.users is empty"},
		{"crew without channels", "web:\n  users:\n    op: {password_hash: \"" + webHash + "\", role: crew}\n",
			"show.yaml:5: web.users.op.channels: is required"},
		{"unknown channel", "web:\n  users:\n    op: {password_hash: \"" + webHash + "\", role: crew, channels: [fyl]}\n",
			`show.yaml:5: web.users.op.channels: "fyl" is not a channel of this show`},
		{"role typo", "web:\n  users:\n    op: {password_hash: \"" + webHash + "\", role: viwer}\n",
			`show.yaml:5: web.users.op.role: unknown role "viwer" (did you mean viewer?)`},
		{"channels on sm", "web:\n  users:\n    op: {password_hash: \"" + webHash + "\", role: sm, channels: [fly]}\n",
			"show.yaml:5: web.users.op.channels: only role crew has channels"},
		{"not bcrypt", "web:\n  users:\n    op: {password_hash: secret, role: sm}\n",
			"show.yaml:5: web.users.op.password_hash: not a bcrypt hash"},
		{"desk_go not a bool", "web:\n  desk_go: yes please\n", "show.yaml:4: web.desk_go"},
		{"unknown key", "web:\n  users:\n    op: {password_hash: \"" + webHash + "\", role: sm, channel: [fly]}\n", "show.yaml:5: web.users.op.channel"},
	}
	for _, b := range bad {
		y := "show: x\nstations: {a: {driver: sim}}\n" + b.web + "channels:\n  fly: {standby_lamp: GPIO17}\n"
		_, err := Parse(strings.NewReader(y), "show.yaml")
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: got %v, want %q\n%s", b.name, err, b.want, y)
		}
	}
}
