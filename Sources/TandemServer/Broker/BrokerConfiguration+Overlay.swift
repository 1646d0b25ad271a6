import TandemCore

extension BrokerConfiguration {
    /// Each session's overlay budget, and the largest message that carries an overlay to a
    /// participant who (re)joins: the control message limit (protocol/README.md §5.10).
    var overlayLimits: OverlayLimits {
        OverlayLimits(maxBytesPerSession: maxOverlayBytesPerSession, maxMessageSize: limits.maxControlMessageSize)
    }
}
