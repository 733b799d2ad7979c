package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file turns the YAML node tree into the raw file struct: it checks
// the shape (mappings, lists, scalars of the right type), rejects unknown
// and duplicate keys, and keeps the line of every value. Meaning (ranges,
// references, defaults) is checked in validate.go.

// val is one scalar from the file.
type val[T any] struct {
	V    T
	Line int  // line of the value (of the key when the value is missing)
	Set  bool // given and well-formed
	Bad  bool // given but malformed (already reported)
}

// given reports whether the key was in the file, well-formed or not.
func (v val[T]) given() bool { return v.Set || v.Bad }

type rawFile struct {
	line     int // line of the top-level mapping
	Show     val[string]
	MQTT     rawMQTT
	OSC      rawOSC
	Web      rawWeb
	Eos      *rawEos
	Patterns rawPatterns
	Report   rawReport
	Stations []rawStation
	Channels []rawChannel
	Intercom rawIntercom
	stations val[bool] // the stations key: Set when present
	channels val[bool] // the channels key: Set when present
}

type rawMQTT struct {
	line                         int // line of the mqtt key
	Broker, Listen, TopicPrefix  val[string]
	Brokers                      []val[string] // broker given as a list: every URL, in order
	EmbeddedStation, EmbeddedURL val[string]
	Username, Password           val[string]
	ClockSkew                    val[time.Duration]
	TLS                          rawTLS
	tlsGiven                     val[bool]
	Users                        []rawUser
	users                        val[bool]
	MaxClients, MaxPacketSize    val[int64]
}

type rawTLS struct {
	CAFile, CertFile, KeyFile val[string]
	InsecureSkipVerify        val[bool]
}

type rawUser struct {
	Name         string
	Line         int
	PasswordHash val[string]
	Role         val[string]
}

type rawOSC struct {
	Listen           val[string]
	Allow            []val[string]
	allow            val[bool]
	Feedback         []val[string]
	HeartbeatTimeout val[time.Duration]
}

type rawWeb struct {
	Listen val[string]
	Users  []rawWebUser
	DeskGo val[bool]
}

type rawEos struct {
	Line    int
	CueList val[string]
}

type rawPatterns struct {
	Slow, Fast, WinkOn, WinkEvery, Alternate, DoubleEvery val[time.Duration]
}

type rawReport struct {
	LateAck val[time.Duration]
}

type rawStation struct {
	Name          string
	Line          int
	Driver        val[string]
	AllowBootPins val[bool]
	Debounce      val[time.Duration]
	MinBrightness val[float64]
	Record        val[string]
	Gateway       val[bool]
	EscalateAfter val[time.Duration]
	Devices       []rawDevice            // devices: (devices.go)
	Colors        map[string]val[string] // colors: (devices.go)
}

type rawChannel struct {
	Name                      string
	Line                      int
	Station, Label            val[string]
	Pins                      [7]rawPin // indexed like pinRoles
	RequireAck, GoRequiresAck val[bool]
	GoHold, StuckAfter        val[time.Duration]
	CallHold                  val[time.Duration]
	Brightness                val[float64]
	EscalateAfter             val[time.Duration]
}

type rawPin struct {
	Name      val[string]
	ActiveLow val[bool]
	Pull      val[string]
	Line      int
	given     bool // the role key is in the file (well-formed or not)
}

// maxFileSize bounds a show file; real ones are a few kilobytes.
const maxFileSize = 1 << 20

// decoder collects problems while reading one file.
type decoder struct {
	file  string
	probs []Problem
	warns []Problem
	// typos holds the key paths an unknown key was taken for ("did you
	// mean"), so that a missing required key is not reported twice.
	typos map[string]bool
}

// required reports a missing required key, unless a mistyped key was
// already reported as probably meaning it.
func (d *decoder) required(line int, key, hint string) {
	if d.typos[key] {
		return
	}
	d.errf(line, key, hint, "is required")
}

func (d *decoder) errf(line int, key, hint, format string, args ...any) {
	d.probs = append(d.probs, Problem{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (d *decoder) warnf(line int, key, hint, format string, args ...any) {
	d.warns = append(d.warns, Problem{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// readDocument parses the YAML text into the root node, reporting syntax
// errors with their line.
func (d *decoder) readDocument(r io.Reader) *yaml.Node {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		d.errf(1, "", "", "cannot read: %v", err)
		return nil
	}
	if len(data) > maxFileSize {
		d.errf(1, "", "a show file is a few kilobytes; is this the right file?", "larger than %d bytes", maxFileSize)
		return nil
	}
	if why := binary(data); why != "" {
		d.errf(1, "", "a show file is YAML text, like the example in docs/configuration.md; is this the right file?", "not a text show file: %s", why)
		return nil
	}
	root, extra, err := parseYAML(data)
	if err != nil {
		line := syntaxLine(data, err)
		d.errf(line, "", yamlHint(err, lineText(data, line)), "%s", yamlMessage(err))
		return nil
	}
	if root == nil {
		d.errf(1, "", emptyHint, "the file is empty")
		return nil
	}
	if extra > 0 {
		d.errf(extra, "", "remove the line with --- and what follows, or merge it into the first document", "a show file holds one YAML document")
	}
	return root
}

// emptyHint is the fix for an empty show file. It names no example file
// on disk: where the package puts one is the packaging's business, and the
// docs and the demo show are always there.
const emptyHint = "start from the example in docs/configuration.md; cuelightd --demo runs the built-in demo show"

// binary says why data is not a text file at all (an executable, an
// image, a compressed file), or "" when it may be text. A text file with
// a stray control character is left to the YAML parser, which names the
// line.
func binary(data []byte) string {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return "" // UTF-16 with a byte-order mark, which YAML accepts
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return "it holds NUL bytes"
	}
	if !utf8.Valid(data) {
		return "it is not UTF-8 text"
	}
	n := 0
	for _, c := range data {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f {
			n++
		}
	}
	if n > 8 {
		return fmt.Sprintf("it holds %d control characters", n)
	}
	return ""
}

// parseYAML decodes the first document into a node and reports the line
// of a second document, if any. yaml.v3 does not panic on known inputs;
// the recover is the last guard of "no panics on any input".
func parseYAML(data []byte) (root *yaml.Node, extraLine int, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, nil
		}
		return nil, 0, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		extraLine = max(next.Line, 1) // the "---" line
	} else if !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, 0, nil
	}
	return doc.Content[0], extraLine, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// yamlMessage strips yaml.v3's "yaml: line N: " prefix.
func yamlMessage(err error) string {
	msg := yamlLineRE.ReplaceAllString(err.Error(), "")
	return "YAML syntax: " + msg
}

// yamlHint suggests a fix for the common YAML mistakes.
func yamlHint(err error, text string) string {
	msg := err.Error()
	switch {
	case strings.Contains(text, "\t") && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token")):
		return "indent with spaces: YAML does not allow tabs"
	case strings.Contains(msg, "control characters are not allowed"):
		return "remove the control character from this line: a show file is plain text"
	case strings.Contains(msg, "unexpected end of stream"):
		return "a quote opened here is never closed"
	case strings.Contains(msg, "mapping values are not allowed"):
		return "check the indentation, and put a value containing \": \" in quotes"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"):
		return "check the indentation of this line against the one above"
	case strings.Contains(msg, "expected ',' or '}'"):
		return "a { is not closed on this line; put the rest of the mapping inside it"
	case strings.Contains(msg, "expected ',' or ']'"):
		return "a [ is not closed on this line; put the rest of the list inside it"
	case strings.Contains(msg, "cannot start any token"):
		return "put the value in quotes"
	case strings.Contains(msg, "unknown anchor"):
		return "define the anchor with &name before using it with *name"
	}
	return ""
}

// lineText returns line n (1-based) of data.
func lineText(data []byte, n int) string {
	lines := bytes.Split(data, []byte("\n"))
	if n < 1 || n > len(lines) {
		return ""
	}
	return string(lines[n-1])
}

// syntaxLine finds the line of a YAML syntax error. yaml.v3 reports the
// line where the enclosing construct started, 0-based or 1-based depending
// on the error, and sometimes none; so the line is found as the first
// prefix of the file that fails with the same message, starting from the
// line yaml.v3 gave.
func syntaxLine(data []byte, err error) int {
	want := yamlMessage(err)
	from := 1
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil && m[1] != "" {
		from, _ = strconv.Atoi(m[1])
		from = max(from, 1)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if len(lines) > 2000 {
		return from
	}
	for k := from; k <= len(lines); k++ {
		prefix := bytes.Join(lines[:k], nil)
		if _, _, perr := parseYAML(prefix); perr != nil && yamlMessage(perr) == want {
			return k
		}
	}
	return from
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// kv is one entry of a mapping.
type kv struct {
	name  string
	path  string
	line  int        // line of the key
	val   *yaml.Node // the value, aliases resolved
	vline int        // line where the value is written (the alias, if one)
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// kindName names what a node is, for messages.
func kindName(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// entries reads a mapping in file order: keys must be scalars, appear
// once, and merge keys (<<: *anchor) are expanded. A null value is an
// empty mapping. ok is false when n is not a mapping (reported).
func (d *decoder) entries(path string, line int, n *yaml.Node, what string) (out []kv, ok bool) {
	vline := line
	if n != nil {
		vline = n.Line
	}
	n = resolve(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.errf(vline, path, what, "must be a mapping, not %s", kindName(n))
		return nil, false
	}
	seen := map[string]int{}
	d.collect(path, n, seen, &out, 0, false)
	return out, true
}

// collect appends the entries of mapping n; merged entries never override
// entries already present.
func (d *decoder) collect(path string, n *yaml.Node, seen map[string]int, out *[]kv, depth int, merged bool) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k = resolve(k); k == nil || k.Kind != yaml.ScalarNode || isNull(k) {
			d.errf(n.Content[i].Line, path, "keys are plain words", "a key must be a name, not %s", kindName(k))
			continue
		}
		name := k.Value
		if first, dup := seen[name]; dup {
			if !merged {
				d.errf(k.Line, join(path, name), "remove or rename one of them", "defined twice (first on line %d)", first)
			}
			continue
		}
		seen[name] = k.Line
		*out = append(*out, kv{name: name, path: join(path, name), line: k.Line, val: resolve(v), vline: v.Line})
	}
	// Merged mappings (<<: *a or <<: [*a, *b]) add the keys not yet set;
	// the first merge wins.
	for _, m := range merges {
		m = resolve(m)
		var srcs []*yaml.Node
		if m != nil && m.Kind == yaml.SequenceNode {
			srcs = m.Content
		} else {
			srcs = []*yaml.Node{m}
		}
		for _, s := range srcs {
			line := m.Line
			if s = resolve(s); s == nil || s.Kind != yaml.MappingNode {
				d.errf(line, path, "write <<: *anchor where the anchor is a mapping", "a merge key (<<) takes a mapping, not %s", kindName(s))
				continue
			}
			if depth >= 10 {
				d.errf(line, path, "", "merge keys nested too deeply")
				continue
			}
			d.collect(path, s, seen, out, depth+1, true)
		}
	}
}

// fields reads a mapping with fixed keys; unknown keys are reported with
// a suggestion.
func (d *decoder) fields(path string, line int, n *yaml.Node, sec *section) (map[string]kv, bool) {
	hint := ""
	if len(sec.keys) > 0 {
		hint = "keys here: " + strings.Join(sec.keys, ", ")
	}
	list, ok := d.entries(path, line, n, hint)
	m := make(map[string]kv, len(list))
	for _, e := range list {
		if !containsKey(sec.keys, e.name) {
			hint := ""
			if s := suggest(e.name, sec.keys); s != "" {
				hint = "did you mean " + s + "?"
				if d.typos == nil {
					d.typos = map[string]bool{}
				}
				d.typos[join(path, s)] = true
			} else {
				hint = "accepted here: " + strings.Join(sec.keys, ", ")
			}
			d.errf(e.line, e.path, hint, "unknown key")
			continue
		}
		m[e.name] = e
	}
	return m, ok
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// scalar checks that e is a scalar with a value.
func (d *decoder) scalar(e kv, hint string) bool {
	switch {
	case e.val == nil || isNull(e.val):
		d.errf(e.line, e.path, hint, "has no value")
		return false
	case e.val.Kind != yaml.ScalarNode:
		d.errf(e.vline, e.path, hint, "must be a single value, not %s", kindName(e.val))
		return false
	}
	return true
}

// readScalar reads the scalar under key with parse, which turns the value
// node into a T or says what is wrong (msg) and how to fix it (fix, or
// hint when fix is empty). A missing key gives the zero val; a value that
// is not a single scalar is reported with hint. It is the one reader
// behind text, boolean, duration, integer and number.
func readScalar[T any](d *decoder, m map[string]kv, key, hint string, parse func(n *yaml.Node) (v T, msg, fix string)) (v val[T]) {
	e, ok := m[key]
	if !ok {
		return v
	}
	v.Line = e.vline
	if !d.scalar(e, hint) {
		v.Bad = true
		return v
	}
	x, msg, fix := parse(e.val)
	if msg != "" {
		if fix == "" {
			fix = hint
		}
		d.errf(e.vline, e.path, fix, "%s", msg)
		v.Bad = true
		return v
	}
	v.V, v.Set = x, true
	return v
}

// quoted reports whether a scalar is written in quotes, and so is text
// even when it looks like a boolean or a number.
func quoted(n *yaml.Node) bool {
	return n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
}

// notText says what is wrong with a value that is not of the wanted
// kind; when it is in quotes and would be of one of the tags without them
// ("true" where true is wanted), the fix is to remove the quotes.
func notText(n *yaml.Node, want string, tags ...string) (msg, fix string) {
	if quoted(n) && slices.Contains(tags, plainTag(n.Value)) {
		return fmt.Sprintf("want %s, not the text %q", want, n.Value), "remove the quotes"
	}
	return fmt.Sprintf("want %s, not %q", want, n.Value), ""
}

// plainTag returns the tag YAML gives s written without quotes ("!!bool"
// for true), or "" when s is not one plain scalar.
func plainTag(s string) string {
	var doc yaml.Node
	if strings.ContainsAny(s, "\n#:{}[],&*!|>'\"%@`") || yaml.Unmarshal([]byte(s), &doc) != nil ||
		len(doc.Content) != 1 || doc.Content[0].Kind != yaml.ScalarNode {
		return ""
	}
	return doc.Content[0].Tag
}

// text reads any scalar as text, as written.
func (d *decoder) text(m map[string]kv, key string, hint string) val[string] {
	return readScalar(d, m, key, hint, func(n *yaml.Node) (string, string, string) { return n.Value, "", "" })
}

func (d *decoder) boolean(m map[string]kv, key string) val[bool] {
	return readScalar(d, m, key, "write true or false", func(n *yaml.Node) (bool, string, string) {
		if n.Tag != "!!bool" {
			msg, fix := notText(n, "true or false", "!!bool")
			return false, msg, fix
		}
		return strings.EqualFold(n.Value, "true"), "", ""
	})
}

func (d *decoder) duration(m map[string]kv, key string) val[time.Duration] {
	return readScalar(d, m, key, "write a number and a unit: 250ms, 3s, 1m", func(n *yaml.Node) (time.Duration, string, string) {
		s := n.Value
		if n.Tag == "!!int" || n.Tag == "!!float" {
			if f, err := strconv.ParseFloat(s, 64); err == nil && f == 0 {
				return 0, "", ""
			}
			return 0, fmt.Sprintf("%s has no unit", s), fmt.Sprintf("write %ss or %sms", s, s)
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Sprintf("%q is not a duration", s), ""
		}
		return dur, "", ""
	})
}

func (d *decoder) integer(m map[string]kv, key string) val[int64] {
	return readScalar(d, m, key, "write a whole number", func(n *yaml.Node) (int64, string, string) {
		var i int64
		if n.Tag != "!!int" || n.Decode(&i) != nil {
			msg, fix := notText(n, "a whole number", "!!int")
			return 0, msg, fix
		}
		return i, "", ""
	})
}

func (d *decoder) number(m map[string]kv, key string) val[float64] {
	return readScalar(d, m, key, "write a number such as 0.5", func(n *yaml.Node) (float64, string, string) {
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil {
			msg, fix := notText(n, "a number", "!!int", "!!float")
			return 0, msg, fix
		}
		return f, "", ""
	})
}

// list reads a list of scalars as text. present reports whether the key
// was given (even if malformed).
func (d *decoder) list(m map[string]kv, key, example string) (out []val[string], present val[bool]) {
	e, ok := m[key]
	if !ok {
		return nil, present
	}
	present.Line = e.line
	switch {
	case isNull(e.val):
		d.errf(e.line, e.path, "write "+key+": [] for an empty list", "has no value")
		present.Bad = true
		return nil, present
	case e.val.Kind != yaml.SequenceNode:
		d.errf(e.vline, e.path, "write "+key+": ["+example+"]", "must be a list, not %s", kindName(e.val))
		present.Bad = true
		return nil, present
	}
	present.Set = true
	for i, item := range e.val.Content {
		line := item.Line
		item = resolve(item)
		path := fmt.Sprintf("%s[%d]", e.path, i)
		if item == nil || item.Kind != yaml.ScalarNode || isNull(item) {
			d.errf(line, path, "write "+key+": ["+example+"]", "must be a single value, not %s", kindName(item))
			out = append(out, val[string]{Line: line, Bad: true})
			continue
		}
		out = append(out, val[string]{V: item.Value, Line: line, Set: true})
	}
	return out, present
}

// decodeFile reads the whole tree into a rawFile.
func (d *decoder) decodeFile(root *yaml.Node) *rawFile {
	f := &rawFile{line: root.Line}
	top, ok := d.fields("", root.Line, root, fileSection)
	if !ok {
		return nil
	}
	f.Show = d.text(top, "show", "write show: and the production's name")
	if e, ok := top["mqtt"]; ok {
		d.decodeMQTT(&f.MQTT, e)
	}
	if e, ok := top["osc"]; ok {
		d.decodeOSC(&f.OSC, e)
	}
	if e, ok := top["web"]; ok {
		if m, _ := d.fields(e.path, e.line, e.val, webSection); m != nil {
			f.Web.Listen = d.text(m, "listen", "write host:port, e.g. 127.0.0.1:8080")
			d.decodeWeb(&f.Web, m)
		}
	}
	if e, ok := top["consoles"]; ok {
		if m, _ := d.fields(e.path, e.line, e.val, consolesSection); m != nil {
			if e, ok := m["eos"]; ok {
				f.Eos = &rawEos{Line: e.line}
				if m, _ := d.fields(e.path, e.line, e.val, eosSection); m != nil {
					f.Eos.CueList = d.text(m, "cue_list", "write cue_list: 1")
				}
			}
		}
	}
	if e, ok := top["intercom"]; ok {
		d.decodeIntercom(&f.Intercom, e)
	}
	if e, ok := top["patterns"]; ok {
		if m, _ := d.fields(e.path, e.line, e.val, patternsSection); m != nil {
			p := &f.Patterns
			p.Slow, p.Fast = d.duration(m, "slow"), d.duration(m, "fast")
			p.WinkOn, p.WinkEvery = d.duration(m, "wink_on"), d.duration(m, "wink_every")
			p.Alternate, p.DoubleEvery = d.duration(m, "alternate"), d.duration(m, "double_every")
		}
	}
	if e, ok := top["report"]; ok {
		if m, _ := d.fields(e.path, e.line, e.val, reportSection); m != nil {
			f.Report.LateAck = d.duration(m, "late_ack")
		}
	}
	if e, ok := top["stations"]; ok {
		f.stations = val[bool]{V: true, Line: e.line, Set: true}
		list, ok := d.entries(e.path, e.line, e.val, "write stations: {NAME: {driver: gpio}}")
		f.stations.Set, f.stations.Bad = ok, !ok
		for _, s := range list {
			f.Stations = append(f.Stations, d.decodeStation(s))
		}
	}
	if e, ok := top["channels"]; ok {
		f.channels = val[bool]{V: true, Line: e.line, Set: true}
		list, ok := d.entries(e.path, e.line, e.val, "write channels: {NAME: {standby_lamp: GPIO17}}")
		f.channels.Set, f.channels.Bad = ok, !ok
		for _, c := range list {
			f.Channels = append(f.Channels, d.decodeChannel(c))
		}
	}
	return f
}

func (d *decoder) decodeMQTT(r *rawMQTT, e kv) {
	r.line = e.line
	m, _ := d.fields(e.path, e.line, e.val, mqttSection)
	if b, ok := m["broker"]; ok && b.val != nil && resolve(b.val) != nil && resolve(b.val).Kind == yaml.SequenceNode {
		r.Brokers, _ = d.list(m, "broker", "tcp://10.10.0.2:1883, tcp://10.10.0.3:1883")
		if len(r.Brokers) > 0 {
			r.Broker = r.Brokers[0]
		} else {
			d.errf(b.line, b.path, "write broker: embedded, one URL, or a list of URLs", "is an empty list")
			r.Broker = val[string]{Line: b.line, Bad: true}
		}
	} else {
		r.Broker = d.text(m, "broker", "write embedded, a URL such as tcp://10.10.0.2:1883, or a list of URLs")
	}
	r.Listen = d.text(m, "listen", "write host:port, e.g. 127.0.0.1:1883")
	r.TopicPrefix = d.text(m, "topic_prefix", "write topic_prefix: cuelight")
	r.ClockSkew = d.duration(m, "clock_skew")
	r.EmbeddedStation = d.text(m, "embedded_station", "write the name of a station")
	r.EmbeddedURL = d.text(m, "embedded_url", "write tcp://HOST:1883")
	r.Username = d.text(m, "username", "")
	r.Password = d.text(m, "password", "")
	r.MaxClients = d.integer(m, "max_clients")
	r.MaxPacketSize = d.integer(m, "max_packet_size")
	if t, ok := m["tls"]; ok {
		r.tlsGiven = val[bool]{V: true, Line: t.line, Set: true}
		tm, _ := d.fields(t.path, t.line, t.val, tlsSection)
		r.TLS.CAFile = d.text(tm, "ca_file", "write an absolute path")
		r.TLS.CertFile = d.text(tm, "cert_file", "write an absolute path")
		r.TLS.KeyFile = d.text(tm, "key_file", "write an absolute path")
		r.TLS.InsecureSkipVerify = d.boolean(tm, "insecure_skip_verify")
	}
	if u, ok := m["users"]; ok {
		r.users = val[bool]{V: true, Line: u.line, Set: true}
		list, _ := d.entries(u.path, u.line, u.val, "write users: {NAME: {password_hash: ..., role: booth}}")
		for _, e := range list {
			r.Users = append(r.Users, d.decodeUser(e))
		}
	}
}

func (d *decoder) decodeUser(e kv) rawUser {
	u := rawUser{Name: e.name, Line: e.line}
	m, _ := d.fields(e.path, e.line, e.val, userSection)
	u.PasswordHash = d.text(m, "password_hash", "a bcrypt hash: htpasswd -nbBC 12 x PASSWORD | cut -d: -f2")
	u.Role = d.text(m, "role", "write station, booth or viewer")
	return u
}

func (d *decoder) decodeOSC(r *rawOSC, e kv) {
	m, _ := d.fields(e.path, e.line, e.val, oscSection)
	r.Listen = d.text(m, "listen", "write host:port, e.g. 0.0.0.0:53100")
	r.Allow, r.allow = d.list(m, "allow", "127.0.0.1, 10.10.0.0/24")
	r.Feedback, _ = d.list(m, "feedback", "10.10.0.5:53001")
	r.HeartbeatTimeout = d.duration(m, "heartbeat_timeout")
}

func (d *decoder) decodeStation(e kv) rawStation {
	s := rawStation{Name: e.name, Line: e.line}
	m, _ := d.fields(e.path, e.line, e.val, stationSection)
	s.Driver = d.text(m, "driver", "write gpio or sim")
	s.AllowBootPins = d.boolean(m, "allow_boot_pins")
	s.Debounce = d.duration(m, "debounce")
	s.MinBrightness = d.number(m, "min_brightness")
	s.Record = d.text(m, "record", "write the show log's path, e.g. /var/lib/cuelight/showlog.db")
	s.Gateway = d.boolean(m, "gateway")
	s.EscalateAfter = d.duration(m, "escalate_after")
	d.decodeDevices(&s, m)
	return s
}

func (d *decoder) decodeChannel(e kv) rawChannel {
	c := rawChannel{Name: e.name, Line: e.line}
	m, _ := d.fields(e.path, e.line, e.val, channelSection)
	c.Station = d.text(m, "station", "write the name of a station")
	c.Label = d.text(m, "label", "")
	for i, role := range pinRoles {
		if p, ok := m[role]; ok {
			c.Pins[i] = d.decodePin(p)
		}
	}
	c.RequireAck = d.boolean(m, "require_ack")
	c.GoRequiresAck = d.boolean(m, "go_requires_ack")
	c.GoHold = d.duration(m, "go_hold")
	c.StuckAfter = d.duration(m, "stuck_after")
	c.CallHold = d.duration(m, "call_hold")
	c.Brightness = d.number(m, "brightness")
	c.EscalateAfter = d.duration(m, "escalate_after")
	return c
}

// decodePin reads "GPIO17" or {pin: GPIO17, active_low: true, pull: up}.
func (d *decoder) decodePin(e kv) rawPin {
	p := rawPin{Line: e.vline, given: true}
	const hint = "write GPIO17 or {pin: GPIO17, active_low: true}"
	if e.val != nil && e.val.Kind == yaml.MappingNode {
		m, _ := d.fields(e.path, e.line, e.val, pinSection)
		p.Name = d.text(m, "pin", hint)
		if !p.Name.given() {
			d.required(e.line, join(e.path, "pin"), hint)
			p.Name.Bad = true
		}
		p.ActiveLow = d.boolean(m, "active_low")
		p.Pull = d.text(m, "pull", "write up, down or none")
		if p.Name.Set {
			p.Line = p.Name.Line
		}
		return p
	}
	p.Name = d.text(map[string]kv{"pin": e}, "pin", hint)
	return p
}
