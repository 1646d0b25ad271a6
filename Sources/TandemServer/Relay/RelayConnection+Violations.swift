import NIOWebSocket

extension RelayConnection {
    /// Whether `error`, which ended a connection's read, is the peer breaking the WebSocket
    /// protocol (the session then ends as `protocol-violation` and the library sends the RFC's
    /// close code) rather than the connection dropping (reset, unclean TLS shutdown: the
    /// participant is away for the grace period).
    ///
    /// - NIOWebSocket's own errors (a frame over the size limit, a fragmented control frame):
    ///   its protocol error handler has already sent the close.
    /// - WSCore's (bad framing, text that is not UTF-8, a message over the limit): its error
    ///   type has package access and cannot be named here, so it is known by its module.
    static func isWebSocketViolation(_ error: any Error) -> Bool {
        if error is NIOWebSocketError { return true }
        return String(reflecting: type(of: error)).hasPrefix("WSCore.")
    }
}
