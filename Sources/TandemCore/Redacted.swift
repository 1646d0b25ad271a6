/// A secret (a webhook key, a password) that never shows itself: `"\(value)"`,
/// `String(describing:)`, `String(reflecting:)`, `dump` and the reflection that prints a
/// struct holding it (as the service lifecycle does when it logs its services) all give
/// `<redacted>`. Read the secret itself with ``value``.
public struct Redacted<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret. Use it; never log it.
    public let value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

extension Redacted: Equatable where Value: Equatable {}
extension Redacted: Hashable where Value: Hashable {}
