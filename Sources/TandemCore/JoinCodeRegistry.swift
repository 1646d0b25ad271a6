import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The one-time join codes of the live sessions, and what became of recently dead ones.
///
/// A code is active until it is redeemed once, until it expires, or until its session ends.
/// Dead codes are kept for ``tombstoneLifetime`` so that a customer who retries is told
/// "already used" or "expired" instead of "unknown". Codes are kept in canonical form
/// (twelve digits) and never leave this type except to the agent that owns them.
public struct JoinCodeRegistry: Sendable {
    enum Entry: Equatable, Sendable {
        case active(sessionID: String, expiresAt: Date)
        case used(at: Date)
        case dead(at: Date)
    }

    public enum Redemption: Equatable, Sendable {
        case admit(sessionID: String)
        case reject(TandemCloseCode)
    }

    public var tombstoneLifetime: TimeInterval
    private var entries: [String: Entry] = [:]
    private var codeBySession: [String: String] = [:]

    public init(tombstoneLifetime: TimeInterval = 24 * 3600) {
        self.tombstoneLifetime = tombstoneLifetime
    }

    /// The SHA-256 (hex) of a canonical code: how brokers sharing a database publish which
    /// of them holds it, without storing the code itself.
    public static func hash(_ code: String) -> String {
        APIToken.sha256Hex(code)
    }

    /// Number of codes that can still be redeemed.
    public var activeCount: Int { codeBySession.count }

    /// Issues a fresh code for `sessionID`, distinct from every active and remembered code.
    public mutating func issue<G: RandomNumberGenerator>(sessionID: String, expiresAt: Date, using generator: inout G) -> String {
        var code: String
        repeat {
            let value = UInt64.random(in: 0..<1_000_000_000_000, using: &generator)
            let digits = String(value)
            code = String(repeating: "0", count: JoinCodeFormat.digits - digits.count) + digits
        } while entries[code] != nil
        entries[code] = .active(sessionID: sessionID, expiresAt: expiresAt)
        codeBySession[sessionID] = code
        return code
    }

    public mutating func issue(sessionID: String, expiresAt: Date) -> String {
        var generator = SystemRandomNumberGenerator()
        return issue(sessionID: sessionID, expiresAt: expiresAt, using: &generator)
    }

    /// Redeems `code` (canonical digits). Succeeds at most once per code.
    public mutating func redeem(_ code: String, now: Date) -> Redemption {
        switch entries[code] {
        case nil:
            return .reject(.unknownCode)
        case .used:
            return .reject(.codeUsed)
        case .dead:
            return .reject(.codeExpired)
        case .active(let sessionID, let expiresAt):
            codeBySession[sessionID] = nil
            if now >= expiresAt {
                entries[code] = .dead(at: now)
                return .reject(.codeExpired)
            }
            entries[code] = .used(at: now)
            return .admit(sessionID: sessionID)
        }
    }

    /// Kills the active code of `sessionID`, if any (its session ended or expired).
    public mutating func retire(sessionID: String, now: Date) {
        guard let code = codeBySession.removeValue(forKey: sessionID) else { return }
        entries[code] = .dead(at: now)
    }

    /// Sessions whose code expired by `now`; their codes are retired.
    public mutating func expire(now: Date) -> [String] {
        var expired: [String] = []
        for (sessionID, code) in codeBySession {
            if case .active(_, let expiresAt) = entries[code], now >= expiresAt {
                expired.append(sessionID)
            }
        }
        for sessionID in expired { retire(sessionID: sessionID, now: now) }
        return expired
    }

    /// Forgets dead and used codes older than ``tombstoneLifetime``.
    public mutating func prune(now: Date) {
        entries = entries.filter { _, entry in
            switch entry {
            case .active: true
            case .used(let at), .dead(let at): now.timeIntervalSince(at) < tombstoneLifetime
            }
        }
    }
}
