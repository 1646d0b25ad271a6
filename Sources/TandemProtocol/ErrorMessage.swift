/// Broker → participant: a message was refused, the connection stays open.
///
/// `code` is one of the identifiers of [protocol/README.md § Error codes](../../protocol/README.md#8-error-codes).
public struct ErrorMessage: Sendable, Equatable, Codable {
    public var code: ErrorCode
    public var message: String
    /// Seconds after which the refused request may be tried again (`join-throttled`).
    public var retryAfter: Int?
    /// Base URL of the broker that holds the session (`other-broker`).
    public var redirect: String?

    public init(code: ErrorCode, message: String, retryAfter: Int? = nil, redirect: String? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.redirect = redirect
    }
}
