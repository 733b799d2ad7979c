// Package mosquitto holds the Mosquitto configuration for a cuelight show
// network (cuelight.conf, acl, passwords.example; see README.md) and the
// test that runs a real Mosquitto with it: no anonymous access, and only
// the booth and the stations may publish commands. There is no Go API
// here.
package mosquitto
