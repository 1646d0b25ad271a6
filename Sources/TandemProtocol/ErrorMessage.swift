/// Broker → participant: a message was refused, the connection stays open.
///
/// `code` is one of the identifiers of [protocol/README.md § Error codes](../../protocol/README.md#8-error-codes).
public struct ErrorMessage: Sendable, Equatable, Codable {
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
