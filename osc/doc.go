// Package osc is an Open Sound Control 1.0 implementation: a strict codec
// for messages and bundles, address pattern matching, a dispatcher that keeps
// packet order, a UDP+TCP server and a client.
//
// # Wire format
//
// Everything is big-endian and 4-byte aligned as OSC 1.0 says. The decoder
// accepts the type tags i f s b h t d S c r m T F N I and arrays [ ]
// (nested), rejects any other tag, rejects non-zero padding, trailing bytes
// and packets whose length is not a multiple of 4, and treats a message that
// ends right after its address (no type-tag string at all) as a message with
// no arguments. Strings are passed through byte for byte, so UTF-8 survives.
// Bundles nest up to a depth limit ([DefaultMaxDepth]); each element is parsed
// from exactly the number of bytes its size field gives.
//
// [Decode] returns a packet that owns its memory. A [Decoder] decodes without
// allocating: it reuses its messages and argument slices on every call, and
// the strings and blobs it returns alias the input buffer. See [Decoder] for
// the ownership rule.
//
// # Matching
//
// [Match] applies an incoming address pattern to a literal method address:
// ? * [abc] [a-z] [!a-z] {foo,bar}, part by part, so that no wildcard ever
// crosses a '/'. Matching never builds a regular expression, never panics, and
// its work is bounded (a dynamic-programming matcher with a step budget), so a
// hostile pattern costs microseconds, not seconds. The OSC 1.1 path wildcard
// "//" (zero or more whole parts) is available as an option
// ([MatchOptions.PathWildcard], [Dispatcher.PathWildcard]).
//
// # Serving
//
// A [Server] listens on one port for UDP and TCP. TCP framing is detected per
// connection: OSC 1.1 SLIP when the first byte is 0xC0, otherwise the OSC 1.0
// int32 length prefix. Sources outside the allow-list are dropped before any
// parsing; the list fails closed (an empty one admits nobody; see
// [AllowAny]). TCP connections are limited overall and per source address;
// when full, a new one closes the longest-idle one. Every datagram and every
// stream frame goes through one channel to one loop that decodes it and hands
// its messages to a [Dispatcher], in arrival order, bundle elements in order;
// bundles tagged for the future are held and delivered by the same loop when
// due (or, with [Dispatcher.DeliverFuture], delivered at once with their
// time in [Sender.Due], for applications that schedule themselves).
// Handlers are therefore called one at a time and must not block. A handler
// can answer through the [Sender] it is given: over UDP to the sender's
// source address and port, over TCP on the same connection in the framing
// the sender used.
package osc
