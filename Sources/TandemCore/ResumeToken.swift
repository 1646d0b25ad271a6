/// Resume tokens: `tdr_` + 43 base64url characters (256 random bits), one per participant
/// of a live session, replaced at every resume. The broker keeps only their hashes.
public enum ResumeToken {
    public static let prefix = "tdr_"

    public static func generate() -> String {
        prefix + APIToken.generate().dropFirst(APIToken.prefix.count)
    }

    public static func isWellFormed(_ token: String) -> Bool {
        token.hasPrefix(prefix) && APIToken.isWellFormed(APIToken.prefix + token.dropFirst(prefix.count))
    }
}
