/// Session identifiers: `s_` and 16 lowercase base32 characters (80 random bits).
public enum SessionID {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")

    public static func generate<G: RandomNumberGenerator>(using generator: inout G) -> String {
        var result = "s_"
        for _ in 0..<16 { result.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]) }
        return result
    }

    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return generate(using: &generator)
    }

    /// Whether `string` could be a session id (checked before any lookup).
    public static func isWellFormed(_ string: String) -> Bool {
        string.hasPrefix("s_") && string.count == 18 && string.dropFirst(2).allSatisfy { alphabet.contains($0) }
    }
}
