package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"time"

	"github.com/cuelight/cuelight/config"
	"github.com/cuelight/cuelight/internal/flagtext"
)

// Built-in defaults: the demo show's addresses (docs/protocol.md §5).
const (
	defaultOSC     = "127.0.0.1:53100"
	defaultBroker  = "tcp://127.0.0.1:1883"
	defaultWeb     = "127.0.0.1:8080"
	defaultPrefix  = "cuelight"
	defaultTimeout = 2 * time.Second
)

// valueFlags are the common flags that take a value; splitCommand needs
// them to find the command word after flags given before it.
var valueFlags = map[string]bool{
	"config": true, "osc": true, "tcp-framing": true, "user": true, "password": true,
	"prefix": true, "timeout": true, "web": true,
}

// opts are the flags of one command, and the show file they lead to.
type opts struct {
	fs       *flag.FlagSet
	name     string
	synopsis string
	help     string

	configPath optString
	timeout    time.Duration

	osc     string
	tcp     bool
	framing string

	mqtt     mqttFlag
	user     string
	password string
	prefix   string

	web string

	cfg     *config.Config // the show file, nil when there is none
	cfgPath string         // the show file's path, with cfg
}

// Flag groups a command can take.
const (
	flagsOSC  = 1 << iota // --osc --tcp --tcp-framing
	flagsMQTT             // --mqtt --user --password --prefix
	flagsWeb              // --web
)

// newOpts makes the flag set of one command. help is the text between the
// synopsis and the flag list: what the command does, and examples.
func (c *cli) newOpts(name, synopsis, help string, groups int) *opts {
	o := &opts{fs: flag.NewFlagSet("cuectl "+name, flag.ContinueOnError), name: name, synopsis: synopsis, help: help}
	o.fs.SetOutput(io.Discard)
	o.fs.Var(&o.configPath, "config", "show `FILE` for defaults and channel names (default "+defaultConfig+" if it exists; \"\" for none)")
	o.fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "how long to wait for the station or broker to answer")
	if groups&flagsOSC != 0 {
		o.fs.StringVar(&o.osc, "osc", "", "station's OSC `host:port` (default from the show file's osc.listen, else "+defaultOSC+")")
		o.fs.BoolVar(&o.tcp, "tcp", false, "use OSC over TCP (SLIP framing) instead of UDP")
		o.fs.StringVar(&o.framing, "tcp-framing", "", "TCP framing: slip (OSC 1.1) or length (OSC 1.0); implies --tcp")
	}
	if groups&flagsMQTT != 0 {
		o.fs.Var(&o.mqtt, "mqtt", "use MQTT; --mqtt=`URL` names the broker (default from the show file, else "+defaultBroker+")")
		o.fs.StringVar(&o.user, "user", "", "MQTT user name (default $CUELIGHT_MQTT_USER)")
		o.fs.StringVar(&o.password, "password", "", "MQTT password (default $CUELIGHT_MQTT_PASSWORD; the environment keeps it out of ps)")
		o.fs.StringVar(&o.prefix, "prefix", "", "MQTT topic prefix (default from the show file, else "+defaultPrefix+")")
	}
	if groups&flagsWeb != 0 {
		o.fs.StringVar(&o.web, "web", "", "station's web `host:port`, for the sim board API (default from the show file's web.listen, else "+defaultWeb+")")
	}
	return o
}

// printUsage writes the command's help.
func (o *opts) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: cuectl %s\n\n%s\n\nFlags:\n", o.synopsis, strings.TrimSpace(o.help))
	printFlags(w, o.fs)
}

// printFlags lists the flags as the docs write them (--name).
func printFlags(w io.Writer, fs *flag.FlagSet) { flagtext.Print(w, fs) }

// parse parses args (flags may come before, between and after the
// arguments; "--" ends the flags) and loads the show file. When ok is false
// the command must return code.
func (c *cli) parse(o *opts, args []string, minArgs, maxArgs int) (pos []string, code int, ok bool) {
	pos, err := parseInterspersed(o.fs, args)
	if errors.Is(err, flag.ErrHelp) {
		o.printUsage(c.stdout)
		return nil, exitOK, false
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "cuectl %s: %s (see cuectl %s --help)\n", o.name, flagError(err), o.name)
		return nil, exitUsage, false
	}
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		what := "too many arguments"
		if len(pos) < minArgs {
			what = "missing arguments"
		}
		fmt.Fprintf(c.stderr, "cuectl %s: %s\nusage: cuectl %s (see cuectl %s --help)\n", o.name, what, o.synopsis, o.name)
		return nil, exitUsage, false
	}
	if o.framing != "" {
		if o.framing != "slip" && o.framing != "length" {
			fmt.Fprintf(c.stderr, "cuectl %s: --tcp-framing %q: use slip or length\n", o.name, o.framing)
			return nil, exitUsage, false
		}
		o.tcp = true
	}
	if o.timeout <= 0 {
		fmt.Fprintf(c.stderr, "cuectl %s: --timeout must be more than 0\n", o.name)
		return nil, exitUsage, false
	}
	if err := c.loadConfig(o); err != nil {
		fmt.Fprintf(c.stderr, "cuectl %s: %v\n", o.name, err)
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

// flagError writes the flag package's error with the flag as the help
// and the docs write it: "flag provided but not defined: --bogus".
func flagError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": -"); i >= 0 && !strings.HasPrefix(msg[i+2:], "--") {
		if name, _, _ := strings.Cut(msg[i+3:], " "); len(name) > 1 {
			return msg[:i+2] + "-" + msg[i+2:]
		}
	}
	return msg
}

// parseInterspersed parses flags wherever they are among the arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return append(pos, tail...), nil
}

// joinOptionalValues turns "--mqtt URL" into "--mqtt=URL" when the next
// argument is a URL: --mqtt alone means "use MQTT" with the default broker.
func joinOptionalValues(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "--mqtt" || a == "-mqtt") && i+1 < len(args) && strings.Contains(args[i+1], "://") {
			out = append(out, a+"="+args[i+1])
			i++
			continue
		}
		out = append(out, a)
	}
	return out
}

// loadConfig reads the show file: --config, else $CUELIGHT_CONFIG, else
// the installed one when it exists.
func (c *cli) loadConfig(o *opts) error {
	path, explicit := o.configPath.value, o.configPath.set
	if !explicit {
		if p := c.getenv("CUELIGHT_CONFIG"); p != "" {
			path, explicit = p, true
		} else if c.defaultConfig != "" {
			if _, err := os.Stat(c.defaultConfig); err == nil {
				path = c.defaultConfig
			}
		}
	}
	if path == "" {
		return nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) && len(ce.Problems) > 0 {
			// The station runs the show it loaded, whatever the file on
			// disk says now: talk to it, with what the command line gives.
			more := ""
			if n := len(ce.Problems) - 1; n > 0 {
				more = fmt.Sprintf(" (and %d more: cuectl config check %s)", n, path)
			}
			fmt.Fprintf(c.stderr, "cuectl: warning: ignoring the show file, it has errors; using the addresses given here or the defaults: %s%s\n",
				ce.Problems[0].Error(), more)
			return nil
		}
		if !explicit && errors.Is(err, fs.ErrPermission) {
			// The installed show file is readable by root and group
			// cuelight only; anyone else still gets the default addresses.
			fmt.Fprintf(c.stderr, "cuectl: cannot read %s (permission denied): using the default addresses; join group cuelight or give --config\n", path)
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no show file %s (give the right path with --config, or --config \"\" for none)", path)
		}
		return fmt.Errorf("cannot read the show file %s: %v", path, err)
	}
	o.cfg, o.cfgPath = cfg, path
	return nil
}

// oscAddr is the station's OSC address.
func (o *opts) oscAddr() string {
	if o.osc != "" {
		if _, _, err := net.SplitHostPort(o.osc); err != nil {
			return net.JoinHostPort(o.osc, "53100")
		}
		return o.osc
	}
	if o.cfg != nil {
		return localAddr(o.cfg.OSC.Listen)
	}
	return defaultOSC
}

// webAddr is the station's web listener.
func (o *opts) webAddr() string {
	if o.web != "" {
		return o.web
	}
	if o.cfg != nil && o.cfg.Web.Listen != "" {
		return localAddr(o.cfg.Web.Listen)
	}
	return defaultWeb
}

// brokerURL is the MQTT broker to use.
func (o *opts) brokerURL() string {
	if o.mqtt.url != "" {
		u := o.mqtt.url
		if !strings.Contains(u, "://") {
			u = "tcp://" + u
		}
		return u
	}
	if o.cfg != nil {
		m := o.cfg.MQTT
		switch {
		case !m.Embedded:
			return m.Broker
		case m.EmbeddedURL != "":
			return m.EmbeddedURL
		default:
			return "tcp://" + localAddr(m.Listen)
		}
	}
	return defaultBroker
}

// topicPrefix is the MQTT topic prefix.
func (o *opts) topicPrefix() string {
	switch {
	case o.prefix != "":
		return strings.TrimSuffix(o.prefix, "/")
	case o.cfg != nil && o.cfg.MQTT.TopicPrefix != "":
		return o.cfg.MQTT.TopicPrefix
	}
	return defaultPrefix
}

// showChannels are the channel names of the show file, in file order; nil
// without one.
func (o *opts) showChannels() []string {
	if o.cfg == nil {
		return nil
	}
	out := make([]string, len(o.cfg.Channels))
	for i, ch := range o.cfg.Channels {
		out[i] = ch.Name
	}
	return out
}

// localAddr turns a listen address into one to connect to: an unspecified
// host (0.0.0.0, ::, "") becomes the loopback address.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// optString is a string flag that knows whether it was given.
type optString struct {
	value string
	set   bool
}

func (s *optString) String() string { return s.value }
func (s *optString) Set(v string) error {
	s.value, s.set = v, true
	return nil
}

// mqttFlag is --mqtt (use MQTT) or --mqtt=URL (use MQTT, this broker).
type mqttFlag struct {
	on  bool
	url string
}

func (m *mqttFlag) String() string { return m.url }
func (m *mqttFlag) Set(v string) error {
	switch v {
	case "true":
		m.on = true
	case "false":
		m.on, m.url = false, ""
	case "":
		return errors.New("empty broker URL")
	default:
		m.on, m.url = true, v
	}
	return nil
}
func (m *mqttFlag) IsBoolFlag() bool { return true }

// didYouMean returns ` (did you mean "x"?)` for the closest of names (at
// most two edits away), or "".
func didYouMean(got string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(got, n); d < bestD && d < len(n) {
			best, bestD = n, d
		}
	}
	if best == "" || best == got {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
