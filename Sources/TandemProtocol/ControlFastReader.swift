/// A strict reader for the two control messages the broker relays most often, `chat` and
/// `annotation`, straight from the UTF-8 bytes (no `Codable` round trip).
///
/// It is a fast path in front of `JSONDecoder`, never a replacement: it takes only the plain
/// form of those two messages and *misses* (``Miss``) on anything else, and the `Codable` path
/// then decides, with its own errors. It misses on:
/// - any escape sequence (`\`) in any string, and any `null`;
/// - a key it does not know for the message, a key the broker sets itself (`from`,
///   `supervisor`, `author`), and a key given twice (`JSONDecoder` keeps the first, browsers
///   the last: the canonical re-encoding settles which one the peer sees);
/// - a number with an exponent, a leading zero, or out of its field's range;
/// - a missing required field, other message types, and anything after the object.
///
/// What it accepts, `JSONDecoder` accepts with an equal value
/// (`ControlFastPathTests`, and the fuzz target `FuzzControlMessage` checks it on every input).
struct ControlFastReader {
    struct Miss: Error {}

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// Reads a whole `chat` or `annotation` message, or misses.
    mutating func message() throws(Miss) -> ControlMessage {
        var fields = ControlFastFields()
        try object(ControlFastFields.Key.self) { (reader: inout ControlFastReader, key) throws(Miss) in
            try fields.read(key, from: &reader)
        }
        skipSpace()
        guard index == bytes.count else { throw Miss() }
        return try fields.message()
    }

    // MARK: values

    /// The members of one object, each value read by `member`. Misses on a key not in
    /// `Key` and on a repeated key.
    mutating func object<Key: FastKey>(_: Key.Type, _ member: (inout ControlFastReader, Key) throws(Miss) -> Void) throws(Miss) {
        try expect(UInt8(ascii: "{"))
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        var seen: UInt64 = 0
        while true {
            let range = try stringRange()
            var found: (key: Key, bit: UInt64)?
            for (offset, candidate) in Key.allCases.enumerated() where spells(candidate.rawValue, range) {
                found = (candidate, 1 << UInt64(offset))
                break
            }
            guard let found, seen & found.bit == 0 else { throw Miss() }
            seen |= found.bit
            try expect(UInt8(ascii: ":"))
            try member(&self, found.key)
            switch try next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return
            default: throw Miss()
            }
        }
    }

    /// A string without escapes.
    mutating func string() throws(Miss) -> String {
        String(decoding: bytes[try stringRange()], as: UTF8.self)
    }

    /// A string naming a case of `Value`.
    mutating func enumeration<Value: RawRepresentable>(_: Value.Type) throws(Miss) -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: try string()) else { throw Miss() }
        return value
    }

    /// A non-negative integer of at most `max`: digits only, no sign, fraction or exponent.
    mutating func integer(max: Int) throws(Miss) -> Int {
        skipSpace()
        let start = index
        var value = 0
        while index < bytes.count, let digit = Self.digit(bytes[index]) {
            value = value * 10 + digit
            guard value <= max else { throw Miss() }
            index += 1
        }
        let length = index - start
        guard length > 0, length == 1 || bytes[start] != UInt8(ascii: "0") else { throw Miss() }
        try endOfNumber()
        return value
    }

    /// A number in plain decimal form (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 32 bytes).
    mutating func double() throws(Miss) -> Double {
        skipSpace()
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        try digits()
        guard index - integerStart == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw Miss() }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            try digits()
        }
        try endOfNumber()
        guard index - start <= 32 else { throw Miss() }
        // At most 32 ASCII bytes (a small string up to 15: no allocation); correctly rounded.
        let parsed = Double(Substring(decoding: bytes[start..<index], as: UTF8.self))
        guard let parsed, parsed.isFinite else { throw Miss() }
        return parsed
    }

    /// `[[x, y], …]`: a list of points (their count and range are the overlay's to check).
    mutating func points() throws(Miss) -> [[Double]] {
        try list { (reader: inout ControlFastReader) throws(Miss) in
            try reader.list { (reader: inout ControlFastReader) throws(Miss) in try reader.double() }
        }
    }

    /// `[value, …]`, each read by `element`.
    mutating func list<Element>(_ element: (inout ControlFastReader) throws(Miss) -> Element) throws(Miss) -> [Element] {
        try expect(UInt8(ascii: "["))
        var elements: [Element] = []
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            elements.append(try element(&self))
            switch try next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return elements
            default: throw Miss()
            }
        }
    }

    // MARK: bytes

    /// Whether the bytes in `range` are `name`'s.
    private func spells(_ name: String, _ range: Range<Int>) -> Bool {
        guard name.utf8.count == range.count else { return false }
        var index = range.lowerBound
        for byte in name.utf8 {
            guard bytes[index] == byte else { return false }
            index += 1
        }
        return true
    }

    /// The bytes between the quotes of a string that has no escapes and no control characters.
    private mutating func stringRange() throws(Miss) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            guard byte != UInt8(ascii: "\\"), byte >= 0x20 else { throw Miss() }
            index += 1
        }
        throw Miss()
    }

    private mutating func digits() throws(Miss) {
        let start = index
        while index < bytes.count, Self.digit(bytes[index]) != nil { index += 1 }
        guard index > start else { throw Miss() }
    }

    /// A number ends at a delimiter; an exponent, a second point or a letter is a miss.
    private func endOfNumber() throws(Miss) {
        guard index < bytes.count else { return }
        switch bytes[index] {
        case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D: return
        default: throw Miss()
        }
    }

    private mutating func expect(_ byte: UInt8) throws(Miss) {
        guard try next() == byte else { throw Miss() }
    }

    private mutating func next() throws(Miss) -> UInt8 {
        let byte = try peek()
        index += 1
        return byte
    }

    private mutating func peek() throws(Miss) -> UInt8 {
        skipSpace()
        guard index < bytes.count else { throw Miss() }
        return bytes[index]
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }
}

/// The keys one object of the fast path knows (at most 64), spelled as in JSON.
protocol FastKey: CaseIterable, RawRepresentable<String> {}
