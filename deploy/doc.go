// Package deploy holds what turns cuelight into something a theatre
// installs (release builds, the Debian package, the systemd unit; see
// README.md) and the tests of the files the package ships. There is no Go
// API here.
package deploy
