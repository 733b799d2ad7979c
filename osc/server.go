package osc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults for [Options].
const (
	DefaultMaxDatagram  = 65507 // the largest UDP payload over IPv4
	DefaultMaxFrame     = 65536
	DefaultMaxConns     = 64
	DefaultMaxConnsPer  = 8
	DefaultQueueLen     = 256
	DefaultReplyQueue   = 64
	DefaultWriteTimeout = 2 * time.Second
)

// Options configures a [Server]. Only Listen is required.
type Options struct {
	// Listen is the "host:port" to listen on, for UDP and TCP alike. An IPv4
	// host (such as 0.0.0.0 or 127.0.0.1) listens on IPv4 only; an IPv6 host
	// on IPv6 ("::" also accepts IPv4, as IPv4-mapped addresses, where the
	// system allows it); an empty host on every address. Port 0 picks a free
	// port that is free for both; [Server.Addr] tells which.
	Listen string
	// Allow lists the source networks accepted. Datagrams and connections
	// from anywhere else are dropped before any parsing and counted as
	// rejected. The list fails closed: nil and empty both admit nobody
	// (the server then receives nothing). Use [AllowAny] to accept every
	// source, or [AllowLoopback] for this host only.
	Allow []netip.Prefix
	// MaxDatagram is the largest UDP datagram accepted; 0 means
	// DefaultMaxDatagram.
	MaxDatagram int
	// MaxFrame is the largest TCP frame (packet) accepted; 0 means
	// DefaultMaxFrame. A length prefix over it closes the connection (the
	// stream cannot be resynchronised); an oversized SLIP frame is skipped.
	MaxFrame int
	// MaxBundleDepth limits bundle nesting; 0 means DefaultMaxDepth.
	MaxBundleDepth int
	// MaxConns limits simultaneous TCP connections; 0 means
	// DefaultMaxConns. When it is reached, a new connection from an
	// allowed source closes the open connection that has been idle the
	// longest (idle: no frame received since it was accepted or since
	// its last frame), so connections that merely stay open cannot lock
	// a booth out. Each such close is counted as evicted.
	MaxConns int
	// MaxConnsPerAddr limits simultaneous TCP connections from one source
	// address (any port); 0 means DefaultMaxConnsPer. When one address
	// reaches it, its new connection closes that address's longest-idle
	// connection (counted as evicted), so one host can neither fill the
	// server nor lock itself out after its old connections went stale.
	MaxConnsPerAddr int
	// QueueLen is the number of received packets waiting for the loop;
	// 0 means DefaultQueueLen. When it is full, readers wait (UDP then
	// queues in the kernel).
	QueueLen int
	// ReplyQueue is the number of replies waiting to be written on one TCP
	// connection; 0 means DefaultReplyQueue.
	ReplyQueue int
	// WriteTimeout bounds each TCP reply write; a connection that cannot
	// take a reply in time is closed. 0 means DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Logger receives warnings: malformed input (at most one line per
	// second, with a count of the lines suppressed), handler panics, socket
	// errors. nil discards them.
	Logger *slog.Logger
	// Clock is the time source for bundle time tags and scheduling; nil
	// means the real clock.
	Clock clockwork.Clock
}

// Stats is a snapshot of a server's counters. They only grow, except
// Pending and Conns.
type Stats struct {
	Received     uint64 `json:"received"`      // packets (datagrams, TCP frames) from allowed sources
	Malformed    uint64 `json:"malformed"`     // packets dropped: undecodable, over a size limit, bad framing
	Rejected     uint64 `json:"rejected"`      // datagrams and connections from sources outside Allow
	Refused      uint64 `json:"refused"`       // TCP connections closed at once (the server was closing)
	Evicted      uint64 `json:"evicted"`       // idle TCP connections closed to make room (MaxConns, MaxConnsPerAddr)
	Panics       uint64 `json:"panics"`        // handler panics recovered
	ReplyDropped uint64 `json:"reply_dropped"` // TCP replies dropped because the connection's queue was full
	Delivered    uint64 `json:"delivered"`     // messages delivered to at least one method
	Unmatched    uint64 `json:"unmatched"`     // messages that matched no method
	Scheduled    uint64 `json:"scheduled"`     // bundles held for a future time tag
	Future       uint64 `json:"future"`        // future-tagged bundles delivered at once (Dispatcher.DeliverFuture)
	Late         uint64 `json:"late"`          // bundles whose time tag had already passed
	Dropped      uint64 `json:"dropped"`       // bundles beyond the horizon or over the pending limit
	Pending      int    `json:"pending"`       // bundles held now
	Conns        int    `json:"conns"`         // open TCP connections
}

// Server receives OSC over UDP and TCP on one port and dispatches it.
//
// Concurrency contract: one goroutine reads UDP, one per TCP connection
// reads (and one writes) that connection; all of them feed one queue, and a
// single loop decodes every packet and calls the [Dispatcher], so handlers
// run one at a time, in arrival order (per source, the order it sent in),
// bundle elements in order, held bundles when due. There is no goroutine per
// packet. Handlers must not block: a slow handler delays every later
// message. A handler panic is recovered and counted; the rest of that packet
// is skipped and the server goes on.
//
// What a handler is lent: msg and msg.Args are reused for the next packet
// (Clone to keep them); the strings and blobs inside them are backed by a
// buffer the server never reuses, so they may be kept as they are; *from is
// reused too (keep a copy of the value).
type Server struct {
	opts  Options
	d     *Dispatcher
	log   *slog.Logger
	clock clockwork.Clock
	udp   *net.UDPConn
	tcp   *net.TCPListener
	addr  netip.AddrPort

	in        chan frame
	done      chan struct{}
	closeOnce sync.Once
	serving   atomic.Bool
	wg        sync.WaitGroup

	mu     sync.Mutex // guards conns and closed
	conns  map[*tcpConn]struct{}
	closed bool

	// Owned by the loop.
	dec Decoder
	cur Sender

	received, malformed, rejected, refused, evicted, panics, replyDropped atomic.Uint64

	// activity numbers received frames and accepted connections; a
	// connection's last number says how long it has been idle, without a
	// clock.
	activity atomic.Uint64

	badLog rateLimit
}

// frame is one received packet on its way to the loop. A nil buf from a TCP
// connection means the peer has finished sending.
type frame struct {
	buf  []byte
	from Sender
}

// Listen opens the UDP and TCP sockets described by opts and returns a
// server that dispatches to d once [Server.Serve] runs.
func Listen(opts Options, d *Dispatcher) (*Server, error) {
	if d == nil {
		return nil, errors.New("osc: Listen with a nil Dispatcher")
	}
	opts = opts.withDefaults()
	host, port, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("osc: listen address %q: %w", opts.Listen, err)
	}
	tcpNet, udpNet := "tcp", "udp"
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		tcpNet, udpNet = "tcp4", "udp4"
	}
	s := &Server{
		opts:  opts,
		d:     d,
		log:   opts.Logger,
		clock: opts.Clock,
		in:    make(chan frame, opts.QueueLen),
		done:  make(chan struct{}),
		conns: make(map[*tcpConn]struct{}),
	}
	s.dec.MaxDepth = opts.MaxBundleDepth
	s.badLog.every = time.Second
	if err := s.bind(tcpNet, udpNet, host, port); err != nil {
		return nil, err
	}
	_ = s.udp.SetReadBuffer(1 << 20) // absorb bursts; the system may cap it
	ap := s.udp.LocalAddr().(*net.UDPAddr).AddrPort()
	s.addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	return s, nil
}

// bind opens both sockets on the same port. With port 0 the TCP port is
// picked first and UDP must get the same number; a clash is retried.
func (s *Server) bind(tcpNet, udpNet, host, port string) error {
	for try := 0; ; try++ {
		tl, err := net.Listen(tcpNet, net.JoinHostPort(host, port))
		if err != nil {
			return fmt.Errorf("osc: listen tcp: %w", err)
		}
		p := strconv.Itoa(tl.Addr().(*net.TCPAddr).Port)
		pc, err := net.ListenPacket(udpNet, net.JoinHostPort(host, p))
		if err != nil {
			tl.Close()
			if port == "0" && try < 20 && errors.Is(err, syscall.EADDRINUSE) {
				continue
			}
			return fmt.Errorf("osc: listen udp: %w", err)
		}
		s.tcp, s.udp = tl.(*net.TCPListener), pc.(*net.UDPConn)
		return nil
	}
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxDatagram, DefaultMaxDatagram)
	def(&o.MaxFrame, DefaultMaxFrame)
	def(&o.MaxBundleDepth, DefaultMaxDepth)
	def(&o.MaxConns, DefaultMaxConns)
	def(&o.MaxConnsPerAddr, DefaultMaxConnsPer)
	def(&o.QueueLen, DefaultQueueLen)
	def(&o.ReplyQueue, DefaultReplyQueue)
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	return o
}

// ListenAndServe listens as opts says and serves until ctx is cancelled.
func ListenAndServe(ctx context.Context, opts Options, d *Dispatcher) error {
	s, err := Listen(opts, d)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Addr returns the address the server listens on; its port is the real one
// when Options.Listen asked for port 0.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Serve receives and dispatches until ctx is cancelled or [Server.Close] is
// called, then closes the sockets and every connection, discards the
// bundles still held by the dispatcher, waits for its goroutines, and
// returns nil. It may be called once.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("osc: Serve called twice")
	}
	defer func() {
		s.Close()
		s.wg.Wait()
		s.d.DropPending()
	}()
	s.wg.Add(2)
	go s.readUDP()
	go s.acceptTCP()
	s.loop(ctx)
	return nil
}

// Close stops the server: Serve returns once its goroutines have ended.
// Replies and SendTo fail with ErrClosed from now on. Close is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.udp.Close()
		s.tcp.Close()
		s.mu.Lock()
		s.closed = true
		conns := make([]*tcpConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		for _, c := range conns {
			c.close()
		}
	})
	return nil
}

func (s *Server) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Stats returns a snapshot of the counters, the dispatcher's included.
func (s *Server) Stats() Stats {
	ds := s.d.Stats()
	s.mu.Lock()
	conns := len(s.conns)
	s.mu.Unlock()
	return Stats{
		Received:     s.received.Load(),
		Malformed:    s.malformed.Load(),
		Rejected:     s.rejected.Load(),
		Refused:      s.refused.Load(),
		Evicted:      s.evicted.Load(),
		Panics:       s.panics.Load(),
		ReplyDropped: s.replyDropped.Load(),
		Delivered:    ds.Delivered,
		Unmatched:    ds.Unmatched,
		Scheduled:    ds.Scheduled,
		Future:       ds.Future,
		Late:         ds.Late,
		Dropped:      ds.Dropped,
		Pending:      ds.Pending,
		Conns:        conns,
	}
}

// SendTo sends p as one datagram from the server's UDP socket to addr (a
// feedback target, say). It is safe to call from any goroutine.
func (s *Server) SendTo(addr netip.AddrPort, p Packet) error {
	if s.isClosed() {
		return ErrClosed
	}
	bp := sendBufs.Get().(*[]byte)
	defer sendBufs.Put(bp)
	b, err := p.AppendBinary((*bp)[:0])
	if err != nil {
		return err
	}
	*bp = b[:0]
	if _, err := s.udp.WriteToUDPAddrPort(b, addr); err != nil {
		if s.isClosed() {
			return ErrClosed
		}
		return fmt.Errorf("osc: send to %s: %w", addr, err)
	}
	return nil
}

var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// AllowAny is an allow list that accepts every IPv4 and IPv6 source, for
// library users who want no filtering; it is never a default.
var AllowAny = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// AllowLoopback is an allow list that accepts this host only:
// 127.0.0.0/8 and ::1.
var AllowLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// allowed reports whether a source is in Options.Allow; an empty list
// admits nobody.
func (s *Server) allowed(a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range s.opts.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (s *Server) readUDP() {
	defer s.wg.Done()
	buf := make([]byte, s.opts.MaxDatagram+1)
	for {
		n, src, err := s.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if s.isClosed() {
				return
			}
			s.log.Warn("osc: udp read", "err", err)
			select { // do not spin on a persistent error
			case <-s.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if !s.allowed(src.Addr()) {
			s.rejected.Add(1)
			continue
		}
		s.received.Add(1)
		if n > s.opts.MaxDatagram {
			s.bad(src, "udp", fmt.Errorf("%w: datagram over %d bytes", ErrTooLarge, s.opts.MaxDatagram))
			continue
		}
		f := frame{buf: append(make([]byte, 0, n), buf[:n]...), from: Sender{addr: src, network: "udp", srv: s}}
		select {
		case s.in <- f:
		case <-s.done:
			return
		}
		// The loop, just handed the datagram, runs before this goroutine
		// reads the socket again: with one core (GOMAXPROCS=1) the read
		// that finds nothing would otherwise delay it by a system call.
		runtime.Gosched()
	}
}

func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.AcceptTCP()
		if err != nil {
			if s.isClosed() {
				return
			}
			s.log.Warn("osc: tcp accept", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		ap := c.RemoteAddr().(*net.TCPAddr).AddrPort()
		src := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if !s.allowed(src.Addr()) {
			s.rejected.Add(1)
			c.Close()
			continue
		}
		tc := &tcpConn{
			srv:    s,
			c:      c,
			addr:   src,
			out:    make(chan []byte, s.opts.ReplyQueue),
			finish: make(chan struct{}),
			done:   make(chan struct{}),
		}
		tc.touch()
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			s.refused.Add(1)
			c.Close()
			return
		}
		victims := s.makeRoom(src.Addr())
		s.conns[tc] = struct{}{}
		s.wg.Add(2)
		s.mu.Unlock()
		for _, v := range victims {
			s.evicted.Add(1)
			s.log.Info("osc: closed an idle tcp connection to make room", "src", v.addr.String(), "for", src.String())
			v.close()
		}
		go tc.read()
		go tc.write()
	}
}

// makeRoom picks the connections to close so that one from a can be
// added: a's longest-idle one when a is at MaxConnsPerAddr, then the
// longest-idle of all when the server is at MaxConns. The victims leave
// s.conns at once, so the limits hold while they close. s.mu is held.
func (s *Server) makeRoom(a netip.Addr) []*tcpConn {
	var victims []*tcpConn
	evict := func(v *tcpConn) {
		delete(s.conns, v)
		victims = append(victims, v)
	}
	var oldest *tcpConn
	n := 0
	for c := range s.conns {
		if c.addr.Addr() == a {
			n++
			if oldest == nil || c.last.Load() < oldest.last.Load() {
				oldest = c
			}
		}
	}
	if n >= s.opts.MaxConnsPerAddr && oldest != nil {
		evict(oldest)
	}
	for len(s.conns) >= s.opts.MaxConns {
		oldest = nil
		for c := range s.conns {
			if oldest == nil || c.last.Load() < oldest.last.Load() {
				oldest = c
			}
		}
		evict(oldest)
	}
	return victims
}

// bad counts a malformed packet and logs it, rate-limited.
func (s *Server) bad(src netip.AddrPort, network string, err error) {
	s.malformed.Add(1)
	if ok, suppressed := s.badLog.allow(s.clock.Now()); ok {
		s.log.Warn("osc: dropped malformed packet", "src", src.String(), "network", network, "err", err, "suppressed", suppressed)
	}
}

func (s *Server) loop(ctx context.Context) {
	var (
		timer  clockwork.Timer
		timerC <-chan time.Time
		armed  time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if due, ok := s.d.NextDue(); !ok {
			if timer != nil {
				timer.Stop()
				timer, timerC = nil, nil
			}
		} else if timerC == nil || !due.Equal(armed) {
			if timer != nil {
				timer.Stop()
			}
			timer = s.clock.NewTimer(due.Sub(s.clock.Now()))
			timerC, armed = timer.Chan(), due
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case f := <-s.in:
			s.process(f)
		case <-timerC:
			timer, timerC = nil, nil
			s.runDue()
		}
	}
}

func (s *Server) process(f frame) {
	defer s.recoverPanic(&f.from)
	if f.buf == nil {
		if f.from.conn != nil {
			f.from.conn.finishWrites()
		}
		return
	}
	p, err := s.dec.Decode(f.buf)
	if err != nil {
		s.bad(f.from.addr, f.from.network, err)
		return
	}
	s.cur = f.from
	s.d.Dispatch(p, &s.cur, s.clock.Now())
}

func (s *Server) runDue() {
	defer s.recoverPanic(nil)
	s.d.RunDue(s.clock.Now())
}

func (s *Server) recoverPanic(from *Sender) {
	if r := recover(); r != nil {
		s.panics.Add(1)
		s.log.Error("osc: handler panicked; packet skipped", "src", from.String(), "panic", fmt.Sprint(r))
	}
}

// tcpConn is one accepted connection: a reader that feeds the server's
// queue and a writer that drains the reply queue.
type tcpConn struct {
	srv     *Server
	c       *net.TCPConn
	addr    netip.AddrPort
	framing atomic.Uint32 // Framing, once detected
	last    atomic.Uint64 // the server's activity number at accept or at the last frame

	out        chan []byte   // framed replies
	finish     chan struct{} // closed by the loop when the peer has finished: flush, then close
	finishOnce sync.Once
	done       chan struct{} // closed when the connection is closed
	closeOnce  sync.Once
}

func (tc *tcpConn) read() {
	s := tc.srv
	defer s.wg.Done()
	fr := newFrameReader(tc.c, 0, s.opts.MaxFrame)
	for {
		payload, err := fr.next()
		tc.touch()
		if fr.framing != 0 && tc.framing.Load() == 0 {
			tc.framing.Store(uint32(fr.framing))
		}
		if err != nil {
			if isFrameError(err) {
				s.received.Add(1)
				s.bad(tc.addr, "tcp", err)
				continue
			}
			if errors.Is(err, ErrTooLarge) {
				s.received.Add(1)
				s.bad(tc.addr, "tcp", err)
				tc.close()
				return
			}
			// End of stream or a closed connection: let the loop finish the
			// packets already queued, so their replies are written, then
			// close.
			select {
			case s.in <- frame{from: Sender{addr: tc.addr, network: "tcp", conn: tc}}:
			case <-s.done:
			case <-tc.done:
			}
			return
		}
		s.received.Add(1)
		f := frame{buf: payload, from: Sender{addr: tc.addr, network: "tcp", framing: fr.framing, conn: tc}}
		select {
		case s.in <- f:
		case <-s.done:
			return
		case <-tc.done:
			return
		}
	}
}

func (tc *tcpConn) write() {
	defer tc.srv.wg.Done()
	defer tc.close()
	for {
		select {
		case b := <-tc.out:
			if !tc.writeOne(b) {
				return
			}
		case <-tc.finish:
			for {
				select {
				case b := <-tc.out:
					if !tc.writeOne(b) {
						return
					}
				default:
					return
				}
			}
		case <-tc.done:
			return
		}
	}
}

func (tc *tcpConn) writeOne(b []byte) bool {
	_ = tc.c.SetWriteDeadline(time.Now().Add(tc.srv.opts.WriteTimeout))
	if _, err := tc.c.Write(b); err != nil {
		if !tc.srv.isClosed() {
			tc.srv.log.Warn("osc: tcp reply failed; closing connection", "src", tc.addr.String(), "err", err)
		}
		return false
	}
	return true
}

// touch marks the connection as active now.
func (tc *tcpConn) touch() { tc.last.Store(tc.srv.activity.Add(1)) }

// send queues a reply without blocking.
func (tc *tcpConn) send(p Packet) error {
	select {
	case <-tc.done:
		return ErrClosed
	case <-tc.finish:
		return ErrClosed
	default:
	}
	f := Framing(tc.framing.Load())
	if f == 0 {
		f = LengthPrefix
	}
	b, err := appendFramed(nil, f, p)
	if err != nil {
		return err
	}
	select {
	case tc.out <- b:
		return nil
	case <-tc.done:
		return ErrClosed
	default:
		tc.srv.replyDropped.Add(1)
		return ErrQueueFull
	}
}

// finishWrites is called by the loop once every packet the peer sent has
// been handled: the writer flushes the queued replies and closes.
func (tc *tcpConn) finishWrites() {
	tc.finishOnce.Do(func() { close(tc.finish) })
}

func (tc *tcpConn) close() {
	tc.closeOnce.Do(func() {
		close(tc.done)
		tc.c.Close()
		s := tc.srv
		s.mu.Lock()
		delete(s.conns, tc)
		s.mu.Unlock()
	})
}

// rateLimit lets one event through per period and counts the rest.
type rateLimit struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

func (r *rateLimit) allow(now time.Time) (ok bool, suppressed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return false, 0
	}
	r.last = now
	suppressed, r.suppressed = r.suppressed, 0
	return true, suppressed
}
