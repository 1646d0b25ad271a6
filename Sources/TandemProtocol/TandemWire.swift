/// Constants of the Tandem wire protocol v1.
///
/// See [protocol/README.md § Endpoint](../../protocol/README.md#1-endpoint).
public enum TandemWire {
    /// The protocol version spoken by this implementation, sent in ``Hello/protocolVersion``.
    public static let version = 1
    /// The WebSocket subprotocol, sent in `Sec-WebSocket-Protocol`.
    public static let subprotocol = "tandem.v1"
    /// The path of the WebSocket endpoint.
    public static let webSocketPath = "/v1/ws"
    /// The path prefix of customer join links (`/j/CODE`).
    public static let joinPathPrefix = "/j/"
    /// The diagnostic echo WebSocket (§1).
    public static let echoPath = "/v1/echo"
}
