import TandemCore

extension BrokerConfiguration {
    /// The budgets of one connection and one network, each a `tandem serve` option
    /// (protocol/README.md §13, SECURITY.md). Networks are IPv4 addresses or IPv6 /64s.
    public struct Limits: Sendable, Equatable {
        /// Largest WebSocket message (frame header + payload, or control JSON) accepted.
        public var maxMessageSize: Int = 4 << 20
        /// Largest control (text) message accepted.
        public var maxControlMessageSize: Int = 64 << 10
        /// Largest message before the broker has welcomed the participant (the hello, and
        /// anything sent before the answer): larger closes at once with 1009.
        public var helloMessageSize: Int = 64 << 10
        /// Largest message `/v1/echo` takes and sends back.
        public var echoMessageSize: Int = 1 << 20
        /// Control messages per second a connection may send on average, and in a burst.
        public var controlRate = RateLimit(perSecond: 50, burst: 200)
        /// Messages a customer may send that go into the audit log (consent, stream changes,
        /// freezes), per second on average and in a burst (§13): beyond it they are refused
        /// with `rate-limited`, neither acted on nor logged, so an anonymous customer cannot
        /// fill the log by toggling its consent. The connection stays open.
        public var customerLoggedRate = RateLimit(perSecond: 2, burst: 30)
        /// Media frames per second a connection may send on average, and in a burst.
        public var frameRate = RateLimit(perSecond: 120, burst: 240)
        /// A media frame that waited longer than this in a recipient's queue is dropped, not
        /// delivered: a receiver that stalled and resumes gets live frames, not a backlog.
        public var mediaMaxAge: Duration = .seconds(1)
        /// The kernel send buffer of each accepted connection (`SO_SNDBUF`; Linux doubles
        /// it), 0 for the kernel's autotuning. Small, so that frames for a slow receiver wait
        /// in its droppable media queue, where the policy decides what is stale, rather than
        /// in socket buffers; large enough for about 4 MB/s per connection at 100 ms RTT.
        public var sendBufferSize: Int = 256 << 10
        /// The most bytes written to a connection and not yet sent that the kernel holds
        /// (`TCP_NOTSENT_LOWAT`, Linux), 0 for no limit. The send buffer above must also hold
        /// what is in flight, which on a fast path is a lot; what waits to be sent is held
        /// small, so on a slow path frames wait in the outbox, where audio goes first and
        /// stale video is dropped, instead of seconds deep in the kernel.
        public var unsentBytes: Int = 16 << 10
        /// What a relay connection's writer hands to TLS and the channel before it waits for
        /// the channel to be writable again (its high-water mark and flush threshold). Small
        /// for the same reason as ``unsentBytes``; a frame larger than it still goes whole.
        public var writeQueueBytes: Int = 16 << 10
        /// A relay connection with no message in either direction for this long is closed (4413).
        public var idleTimeout: Duration = .seconds(15 * 60)
        /// A connection that sends no `hello` within this time gets `error` `hello-timeout`
        /// and is closed with 4408.
        public var helloTimeout: Duration = .seconds(10)
        /// A connection that has sent no HTTP request within this time (a silent TCP client,
        /// a stalled TLS handshake) is closed.
        public var firstRequestTimeout: Duration = .seconds(10)
        /// One HTTP request, head to last body byte, on a connection that did not upgrade.
        public var requestDeadline: Duration = .seconds(30)
        /// An HTTP keep-alive connection idle this long after a request is closed.
        public var httpIdleTimeout: Duration = .seconds(30)
        /// A `/v1/echo` connection (the customer page's connection test, a few seconds) is
        /// closed with 1000 after this long; its messages are held to ``frameRate``.
        public var echoLifetime: Duration = .seconds(60)
        /// HTTP connections (not upgraded to a WebSocket) one network holds at once; more
        /// are closed when accepted.
        public var httpConnectionsPerNetwork: Int = 64
        /// WebSockets one network holds before a hello proves an agent or admin (customers,
        /// `/v1/echo`); the upgrade beyond gets HTTP 429.
        public var anonymousWebSocketsPerNetwork: Int = 32
        /// WebSockets of authenticated agents and admins one network holds (a helpdesk
        /// behind one NAT address); one more is refused with 4429 after its hello.
        public var authenticatedWebSocketsPerNetwork: Int = 512

        public init() {}
    }
}

/// A message rate: `perSecond` on average, `burst` at once. Beyond it messages are dropped
/// with an `error`; a connection whose excess passes `sustainedSeconds` of the rate is
/// closed with 4429 (``RateGuard``).
public struct RateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Double
    /// How much excess is tolerated, in seconds' worth of the rate, before the connection is closed.
    public var sustainedSeconds: Double = 5

    public init(perSecond: Double, burst: Double, sustainedSeconds: Double = 5) {
        self.perSecond = perSecond
        self.burst = burst
        self.sustainedSeconds = sustainedSeconds
    }

    var guardState: RateGuard {
        RateGuard(perSecond: perSecond, burst: burst, sustainedExcess: perSecond * sustainedSeconds)
    }
}
