/// Join links: `https://HOST:PORT/j/CODE#k=KEY` (protocol/README.md §3, §3.1).
///
/// The code is what the agent reads aloud on the phone. The key — 128 random bits,
/// base64url without padding (22 characters) — lets whoever holds the link join without
/// spending the broker's guessing budget, so an attacker who keeps that budget empty cannot
/// keep link holders out. It travels in the URL fragment, which browsers never send to a
/// server (no request line, no access log, no `Referer`).
public enum JoinLink {
    /// Characters of a key.
    public static let keyLength = 22
    /// The fragment member that carries the key: `#k=KEY`.
    public static let keyMember = "k"

    /// The part of a join link after the broker's base URL: `/j/CODE#k=KEY`, or `/j/CODE`
    /// without a key.
    public static func path(code: String, key: String?) -> String {
        TandemWire.joinPathPrefix + code + (key.map { "#\(keyMember)=\($0)" } ?? "")
    }

    /// The key in a link's fragment (without `#`; `&`-separated `name=value` members), when
    /// it is there and well-formed.
    public static func key(fromFragment fragment: String?) -> String? {
        guard let fragment else { return nil }
        for member in fragment.split(separator: "&") {
            let parts = member.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, parts[0] == keyMember, isWellFormedKey(String(parts[1])) { return String(parts[1]) }
        }
        return nil
    }

    /// The key of a whole link (`…/j/CODE#k=KEY`), when it carries a well-formed one.
    public static func key(fromLink link: String) -> String? {
        guard let hash = link.firstIndex(of: "#") else { return nil }
        return key(fromFragment: String(link[link.index(after: hash)...]))
    }

    /// Whether `key` has the shape of a link key: 22 characters of the base64url alphabet.
    public static func isWellFormedKey(_ key: String) -> Bool {
        key.utf8.count == keyLength
            && key.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}
