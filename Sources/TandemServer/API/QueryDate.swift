#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A time in a query parameter (`since`, `until`): an RFC 3339 §5.6 `date-time`
/// (`2026-11-22T10:00:00Z`, `2026-11-22T11:00:00.5+01:00`; `T` and `Z` in either case) or a
/// `full-date` (`2026-11-22`, midnight UTC), and nothing else.
///
/// Nothing is guessed: a time without its zone or seconds, a date without its day, an
/// impossible date (`2026-02-30`, `2026-11-22T24:00:00Z`) or anything before or after the
/// value is refused, where a lenient parser would assume UTC, roll over into March, or stop
/// at what it understood. So is an instant outside the years 0001–9999 in UTC
/// (`0000-01-01`, `9999-12-31T23:00:00-05:00`), which the API could not write back as RFC 3339.
enum QueryDate {
    /// What a refused value should have been, for the `400`'s message.
    static let expected = "a date like 2026-11-22 (midnight UTC) or an RFC 3339 time like 2026-11-22T10:00:00Z (or with an offset, +01:00)"

    static func parse(_ text: String) -> Date? {
        var reader = Reader(bytes: Array(text.utf8))
        guard let year = reader.digits(4), reader.take("-"), let month = reader.digits(2), reader.take("-"), let day = reader.digits(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        let days = daysSinceEpoch(year: year, month: month, day: day)
        if reader.atEnd { return date(seconds: days * 86_400, fraction: 0) }

        guard reader.take("T", "t"), let hour = reader.digits(2), reader.take(":"), let minute = reader.digits(2), reader.take(":"),
            let second = reader.digits(2), hour < 24, minute < 60, second <= 60  // 60: a leap second
        else { return nil }
        var fraction = 0.0
        if reader.take(".") {
            guard let digits = reader.digitRun(), let value = Double("0." + digits) else { return nil }
            fraction = value
        }
        let offset: Int
        if reader.take("Z", "z") {
            offset = 0
        } else if let sign = reader.sign() {
            guard let offsetHour = reader.digits(2), reader.take(":"), let offsetMinute = reader.digits(2), offsetHour < 24, offsetMinute < 60 else {
                return nil
            }
            offset = sign * (offsetHour * 3600 + offsetMinute * 60)
        } else {
            return nil
        }
        guard reader.atEnd else { return nil }
        return date(seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset, fraction: fraction)
    }

    /// 0001-01-01T00:00:00Z through 9999-12-31T23:59:59Z, in seconds since 1970.
    static let range = -62_135_596_800...253_402_300_799

    private static func date(seconds: Int, fraction: Double) -> Date? {
        range.contains(seconds) ? Date(timeIntervalSince1970: TimeInterval(seconds) + fraction) : nil
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to this day of the proleptic Gregorian calendar (H. Hinnant's
    /// `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Reads ASCII from the front of the value.
    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        /// Exactly `count` decimal digits.
        mutating func digits(_ count: Int) -> Int? {
            guard bytes.count - index >= count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard Self.isDigit(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }

        /// One or more decimal digits, as text.
        mutating func digitRun() -> String? {
            let start = index
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }

        /// The next character when it is one of `characters`.
        mutating func take(_ characters: Unicode.Scalar...) -> Bool {
            guard index < bytes.count, characters.contains(where: { UInt8(ascii: $0) == bytes[index] }) else { return false }
            index += 1
            return true
        }

        /// `+` (1) or `-` (-1).
        mutating func sign() -> Int? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }

        static func isDigit(_ byte: UInt8) -> Bool {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }
    }
}
