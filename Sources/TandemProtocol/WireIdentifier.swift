/// A wire identifier that is a plain string on the wire, in the database and in hashes, with
/// named constants in the types that adopt it (``ErrorCode``, ``AuditEventKind``); a value
/// this version does not know decodes as itself.
public protocol WireIdentifier: RawRepresentable, Hashable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible
where RawValue == String {
    init(rawValue: String)
}

extension WireIdentifier {
    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }

    public init(from decoder: any Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}
