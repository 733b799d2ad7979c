package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// failure is an error a person reads: what happened and what to check,
// with the exit status it leads to.
type failure struct {
	code int
	msg  string
}

func (f *failure) Error() string { return f.msg }

func fail(code int, format string, args ...any) *failure {
	return &failure{code: code, msg: fmt.Sprintf(format, args...)}
}

// report prints err and returns its exit status: a *failure's own, or
// exitRefused for any other error.
func (c *cli) report(err error) int {
	var f *failure
	if errors.As(err, &f) {
		fmt.Fprintln(c.stderr, "cuectl:", f.msg)
		return f.code
	}
	fmt.Fprintln(c.stderr, "cuectl:", err)
	return exitRefused
}

// interrupted is how an interrupted wait ends (Ctrl-C, SIGTERM).
func interrupted() *failure { return fail(exitInterrupted, "interrupted") }

// oscHint is what to check when a station does not answer.
const oscHint = "is cuelightd running there? is this computer's address in the show file's osc.allow? " +
	"(cuelightd check-config FILE; journalctl -u cuelightd)"

// oscProblem turns an error talking to a station into a failure.
func oscProblem(t oscTarget, err error, timeout time.Duration) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	switch {
	case errors.Is(err, context.Canceled):
		return interrupted()
	case errors.Is(err, context.DeadlineExceeded):
		return fail(exitUnreachable, "no reply from %s within %s: %s", t, timeout, oscHint)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(exitUnreachable, "nothing listens on %s (connection refused): is cuelightd running? is its osc.listen this address and port?", t)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fail(exitUnreachable, "cannot reach %s (%v): check the network and the address", t, rootCause(err))
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fail(exitUnreachable, "cannot resolve %q: check the --osc host name", dns.Name)
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return fail(exitUnreachable, "cannot talk to %s: %v: %s", t, rootCause(err), oscHint)
	}
	return fail(exitUnreachable, "%s: %v", t, err)
}

// brokerHint is what to check when the broker cannot be reached.
const brokerHint = "is cuelightd (embedded broker: mqtt.listen) or mosquitto running there? " +
	"is this the show file's mqtt.broker? (--mqtt=URL, --config)"

// mqttProblem turns a connection error into a failure.
func mqttProblem(url string, err error, timeout time.Duration) *failure {
	switch {
	case errors.Is(err, context.Canceled):
		return interrupted()
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword):
		return fail(exitUnreachable, "broker %s refused the connection: bad user name or password (--user, $CUELIGHT_MQTT_PASSWORD; mqtt.users in the show file)", url)
	case errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return fail(exitUnreachable, "broker %s refused the connection: not authorised (give --user and $CUELIGHT_MQTT_PASSWORD; off loopback the embedded broker needs a user)", url)
	case errors.Is(err, packets.ErrorRefusedIDRejected), errors.Is(err, packets.ErrorRefusedServerUnavailable), errors.Is(err, packets.ErrorRefusedBadProtocolVersion):
		return fail(exitUnreachable, "broker %s refused the connection: %v", url, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(exitUnreachable, "broker %s refused the connection (nothing listens there): %s", url, brokerHint)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fail(exitUnreachable, "broker %s did not answer within %s: %s", url, timeout, brokerHint)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return fail(exitUnreachable, "cannot resolve the broker's host %q: check the broker URL (--mqtt=URL, mqtt.broker)", dns.Name)
	}
	return fail(exitUnreachable, "cannot connect to broker %s: %v: %s", url, rootCause(err), brokerHint)
}

// connLostReason says in a few words why a broker connection that was up
// went down, for watch's header and log lines (not "read tcp
// 127.0.0.1:50312->127.0.0.1:1883: read: connection reset by peer").
func connLostReason(err error) string {
	switch {
	case err == nil:
		return "for no reason given"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the broker closed the connection"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return "the broker dropped the connection"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ENETDOWN):
		return "the network to the broker is down"
	case errors.Is(err, syscall.ETIMEDOUT), isTimeout(err), strings.Contains(err.Error(), "pingresp not received"):
		return "the broker stopped answering"
	}
	msg := rootCause(err).Error()
	if len(msg) > 60 {
		msg = msg[:57] + "..."
	}
	return "the connection failed (" + msg + ")"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rootCause is the innermost error, the part a person can act on
// ("connection refused" rather than "dial udp ...: connect: ...").
func rootCause(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}
