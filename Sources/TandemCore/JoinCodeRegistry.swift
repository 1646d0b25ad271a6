import DequeModule
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one-time join codes of the live sessions, their link keys, and what became of
/// recently dead ones.
///
/// A code is active until it is redeemed once, until it expires, or until its session ends.
/// Dead codes are kept for ``tombstoneLifetime`` with their session, so that a customer who
/// retries is told "already used" or "expired" instead of "unknown" and the attempt lands on
/// that session's timeline. Codes are kept in canonical form (twelve digits) and never leave
/// this type except to the agent that owns them. Each code comes with a link key
/// (``JoinLink``): 128 random bits that let the holder of the link join without spending the
/// guessing budget.
public struct JoinCodeRegistry: Sendable {
    struct Entry: Equatable, Sendable {
        enum State: Equatable, Sendable {
            case active(expiresAt: Date)
            case used(at: Date)
            case dead(at: Date)
        }

        var sessionID: String
        var key: String
        var state: State
    }

    /// A new code and the key of its link.
    public struct Issued: Sendable, Equatable {
        public var code: String
        public var key: String
    }

    public enum Redemption: Equatable, Sendable {
        case admit(sessionID: String)
        /// Refused; `sessionID` is the session whose code it was (used or expired), nil for an unknown code.
        case reject(TandemCloseCode, sessionID: String?)
    }

    public var tombstoneLifetime: TimeInterval
    private var entries: [String: Entry] = [:]
    private var codeBySession: [String: String] = [:]
    /// Active codes by their link key.
    private var codeByKey: [String: String] = [:]
    /// Dead and used codes in the order they died: pruning looks only at those due
    /// (the broker prunes every second; a filter over every code kept for a day was not free).
    private var tombstones: Deque<(code: String, at: Date)> = []

    public init(tombstoneLifetime: TimeInterval = 24 * 3600) {
        self.tombstoneLifetime = tombstoneLifetime
    }

    /// The SHA-256 (hex) of a canonical code: how brokers sharing a database publish which
    /// of them holds it, without storing the code itself.
    public static func hash(_ code: String) -> String {
        APIToken.sha256Hex(code)
    }

    /// The SHA-256 (hex) of a code with its link key, published next to ``hash(_:)`` so that a
    /// link that reaches another broker is sent on without touching that broker's guessing
    /// budget: finding it needs the key too.
    public static func hash(_ code: String, key: String) -> String {
        APIToken.sha256Hex(code + "#" + JoinLink.keyMember + "=" + key)
    }

    /// Number of codes that can still be redeemed.
    public var activeCount: Int { codeBySession.count }

    /// Issues a fresh code for `sessionID`, distinct from every active and remembered code,
    /// and the key of its link.
    public mutating func issue<G: RandomNumberGenerator>(sessionID: String, expiresAt: Date, using generator: inout G) -> Issued {
        var code: String
        repeat {
            let value = UInt64.random(in: 0..<1_000_000_000_000, using: &generator)
            let digits = String(value)
            code = String(repeating: "0", count: JoinCodeFormat.digits - digits.count) + digits
        } while entries[code] != nil
        var key: String
        repeat { key = Self.generateKey(using: &generator) } while codeByKey[key] != nil
        entries[code] = Entry(sessionID: sessionID, key: key, state: .active(expiresAt: expiresAt))
        codeBySession[sessionID] = code
        codeByKey[key] = code
        return Issued(code: code, key: key)
    }

    public mutating func issue(sessionID: String, expiresAt: Date) -> Issued {
        var generator = SystemRandomNumberGenerator()
        return issue(sessionID: sessionID, expiresAt: expiresAt, using: &generator)
    }

    /// 16 random bytes as base64url without padding (``JoinLink/keyLength`` characters).
    static func generateKey<G: RandomNumberGenerator>(using generator: inout G) -> String {
        Data(APIToken.randomBytes(16, using: &generator)).base64URLEncodedString
    }

    /// Redeems `code` (canonical digits). Succeeds at most once per code.
    public mutating func redeem(_ code: String, now: Date) -> Redemption {
        guard var entry = entries[code] else { return .reject(.unknownCode, sessionID: nil) }
        switch entry.state {
        case .used:
            return .reject(.codeUsed, sessionID: entry.sessionID)
        case .dead:
            return .reject(.codeExpired, sessionID: entry.sessionID)
        case .active(let expiresAt):
            codeBySession[entry.sessionID] = nil
            codeByKey[entry.key] = nil
            if now >= expiresAt {
                entry.state = .dead(at: now)
                entries[code] = entry
                tombstones.append((code, now))
                return .reject(.codeExpired, sessionID: entry.sessionID)
            }
            entry.state = .used(at: now)
            entries[code] = entry
            tombstones.append((code, now))
            return .admit(sessionID: entry.sessionID)
        }
    }

    /// Redeems `code` with the key of its link: the session's id when `key` is the key of
    /// `code` and the code is active and unexpired (it is then used up), else nil and
    /// nothing changes — the caller then treats the code as typed by hand. The lookup goes
    /// by key, and the code is compared in constant time, so a wrong key tells nothing
    /// about the code.
    public mutating func redeemLink(_ code: String, key: String, now: Date) -> String? {
        guard JoinLink.isWellFormedKey(key), let keyed = codeByKey[key], Self.constantTimeEqual(keyed, code),
            let entry = entries[keyed], case .active(let expiresAt) = entry.state, now < expiresAt
        else { return nil }
        guard case .admit(let sessionID) = redeem(keyed, now: now) else { return nil }
        return sessionID
    }

    /// Kills the active code of `sessionID`, if any (its session ended or expired).
    public mutating func retire(sessionID: String, now: Date) {
        guard let code = codeBySession.removeValue(forKey: sessionID), var entry = entries[code] else { return }
        codeByKey[entry.key] = nil
        entry.state = .dead(at: now)
        entries[code] = entry
        tombstones.append((code, now))
    }

    /// Sessions whose code expired by `now`; their codes are retired.
    public mutating func expire(now: Date) -> [String] {
        var expired: [String] = []
        for (sessionID, code) in codeBySession {
            if case .active(let expiresAt)? = entries[code]?.state, now >= expiresAt {
                expired.append(sessionID)
            }
        }
        for sessionID in expired { retire(sessionID: sessionID, now: now) }
        return expired
    }

    /// Forgets dead and used codes older than ``tombstoneLifetime``.
    public mutating func prune(now: Date) {
        while let oldest = tombstones.first, now.timeIntervalSince(oldest.at) >= tombstoneLifetime {
            tombstones.removeFirst()
            // A code dies once, and is not issued again while it is remembered.
            if case .active? = entries[oldest.code]?.state { continue }
            entries[oldest.code] = nil
        }
    }

    /// Codes remembered: active ones and tombstones.
    public var rememberedCount: Int { entries.count }

    /// Whether `a` and `b` have the same bytes, in time that depends only on their lengths.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
