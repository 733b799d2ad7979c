package osc

import "errors"

// ErrMalformed is returned (wrapped, with details) when bytes are not a valid
// OSC packet: bad alignment, a length that overruns the input, non-zero
// padding, trailing bytes, an unbalanced array, and so on.
var ErrMalformed = errors.New("osc: malformed packet")

// ErrUnknownType is returned when a message carries a type tag this package
// does not know. The OSC 1.0 specification requires such messages to be
// discarded, since the size of an unknown argument is unknown. It wraps
// [ErrMalformed].
var ErrUnknownType = errorWrap(ErrMalformed, "unknown type tag")

// ErrTooDeep is returned when bundles, or arrays inside a message, are nested
// deeper than the configured limit. It wraps [ErrMalformed].
var ErrTooDeep = errorWrap(ErrMalformed, "nested too deep")

// ErrTooLarge is returned when a datagram or a stream frame exceeds the size
// limit.
var ErrTooLarge = errors.New("osc: packet too large")

// ErrInvalid is returned (wrapped, with details) by the encoders when a
// message or bundle cannot be represented on the wire: an address that does
// not start with '/', a NUL byte inside a string, a zero [Arg], a nil bundle
// element.
var ErrInvalid = errors.New("osc: invalid packet")

// ErrBadPattern is returned by [Compile] for a malformed address pattern,
// such as an unterminated '[' or '{'. [Match] reports such patterns as not
// matching.
var ErrBadPattern = errors.New("osc: malformed address pattern")

// ErrBadAddress is returned by [ValidateAddress] and [Dispatcher.Handle] for
// a method address that is not a literal OSC address.
var ErrBadAddress = errors.New("osc: invalid method address")

// ErrDuplicate is returned by [Dispatcher.Handle] when the address already
// has a handler.
var ErrDuplicate = errors.New("osc: method address already registered")

// ErrClosed is returned when sending through a server, connection or client
// that has been closed.
var ErrClosed = errors.New("osc: closed")

// ErrQueueFull is returned by [Sender.Reply] when a TCP connection's reply
// queue is full because the peer does not read; the reply is dropped rather
// than blocking the caller.
var ErrQueueFull = errors.New("osc: reply queue full")

// ErrNoReply is returned by [Sender.Reply] when the sender has no way back:
// a nil Sender, or one made without a reply function.
var ErrNoReply = errors.New("osc: sender cannot be replied to")

type wrapped struct {
	parent error
	msg    string
}

func (e *wrapped) Error() string { return e.parent.Error() + ": " + e.msg }
func (e *wrapped) Unwrap() error { return e.parent }

func errorWrap(parent error, msg string) error { return &wrapped{parent, msg} }
