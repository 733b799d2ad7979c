package config

import (
	"slices"
)

// The web: section's users and desk_go (docs/web.md).

type rawWebUser struct {
	Name         string
	Line         int
	PasswordHash val[string]
	Role         val[string]
	Channels     []val[string]
	channels     val[bool]
}

func (d *decoder) decodeWeb(r *rawWeb, m map[string]kv) {
	r.DeskGo = d.boolean(m, "desk_go")
	u, ok := m["users"]
	if !ok {
		return
	}
	list, _ := d.entries(u.path, u.line, u.val, "write users: {NAME: {password_hash: ..., role: sm}}")
	for _, e := range list {
		wu := rawWebUser{Name: e.name, Line: e.line}
		um, _ := d.fields(e.path, e.line, e.val, webUserSection)
		wu.PasswordHash = d.text(um, "password_hash", "a bcrypt hash: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2")
		wu.Role = d.text(um, "role", "write viewer, crew or sm")
		wu.Channels, wu.channels = d.list(um, "channels", "fly, sl")
		r.Users = append(r.Users, wu)
	}
}

// validateWeb checks web.users and refuses a web listener beyond loopback
// without them: the pages would let anyone on the LAN stand by or hold the
// show.
func (d *decoder) validateWeb(f *rawFile, c *Config) {
	r := &f.Web
	c.Web.DeskGo = r.DeskGo.V
	roles := []string{WebRoleViewer, WebRoleCrew, WebRoleSM}
	for _, ru := range r.Users {
		path := "web.users." + ru.Name
		u := WebUser{Name: ru.Name, Line: ru.Line, PasswordHash: d.userLogin(rawUser{Name: ru.Name, Line: ru.Line, PasswordHash: ru.PasswordHash}, path)}
		switch {
		case !ru.Role.given():
			d.required(ru.Line, path+".role", "write role: viewer, crew or sm")
		case ru.Role.Set && slices.Contains(roles, ru.Role.V):
			u.Role = ru.Role.V
		case ru.Role.Set:
			hint := "viewer, crew or sm"
			if s := suggest(ru.Role.V, roles); s != "" {
				hint = "did you mean " + s + "?"
			}
			d.errf(ru.Role.Line, path+".role", hint, "unknown role %q", ru.Role.V)
		}
		for _, ch := range ru.Channels {
			if !ch.Set {
				continue
			}
			if _, ok := c.Channel(ch.V); !ok {
				d.errf(ch.Line, path+".channels", "name a channel of channels:", "%q is not a channel of this show", ch.V)
				continue
			}
			u.Channels = append(u.Channels, ch.V)
		}
		switch {
		case u.Role == WebRoleCrew && !ru.channels.given():
			d.required(ru.Line, path+".channels", "write channels: [fly] (the channels this crew member may ACK)")
		case u.Role != WebRoleCrew && u.Role != "" && ru.channels.given():
			d.errf(ru.channels.Line, path+".channels", "remove channels:, or make the role crew", "only role crew has channels (a %s sees all and %s)", u.Role, map[string]string{WebRoleViewer: "sends nothing", WebRoleSM: "may send everything"}[u.Role])
		}
		c.Web.Users = append(c.Web.Users, u)
	}
	if c.Web.Listen != "" && !IsLoopback(c.Web.Listen) && len(r.Users) == 0 {
		d.errf(lineOr(r.Listen.Line, f.line), "web.listen", "add web.users (bcrypt hashes, roles viewer, crew or sm), or listen on 127.0.0.1",
			"%s is reachable beyond this machine and web.users is empty: anyone on the network could stand by, hold or GO the show", c.Web.Listen)
	}
}
