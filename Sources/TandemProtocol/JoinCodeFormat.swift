/// Parsing and formatting of join codes: twelve digits, shown as `482-913-557-301`.
///
/// See [protocol/README.md § Join codes](../../protocol/README.md#3-join-codes).
public enum JoinCodeFormat {
    public static let digits = 12
    /// How many codes there are: 10¹².
    public static let codeSpace: Double = 1e12

    /// The canonical twelve digits of `input`, accepting spaces and dashes between groups,
    /// or `nil` when it is not a well-formed code.
    public static func normalize(_ input: String) -> String? {
        var digits = ""
        for character in input {
            if character.isASCII, character.isNumber {
                digits.append(character)
            } else if character == "-" || character == " " {
                continue
            } else {
                return nil
            }
        }
        return digits.count == Self.digits ? digits : nil
    }

    /// Groups canonical digits in threes: `482913557301` → `482-913-557-301`.
    public static func grouped(_ digits: String) -> String {
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, index % 3 == 0 { result.append("-") }
            result.append(character)
        }
        return result
    }
}
