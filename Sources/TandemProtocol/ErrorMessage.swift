/// Broker → participant: a message was refused, the connection stays open.
///
/// `code` is one of the identifiers of [protocol/README.md § Error codes](../../protocol/README.md#8-error-codes).
public struct ErrorMessage: Sendable, Equatable, Codable {
    public var code: String
    public var message: String
    /// Seconds after which the refused request may be tried again (`join-throttled`).
    public var retryAfter: Int?

    public init(code: String, message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }
}
