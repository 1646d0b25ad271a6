import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durable storage of users and the session log.
///
/// Every method returns only after its write is committed, so the broker acknowledges
/// nothing that a crash could lose.
public protocol TandemStore: Sendable {
    /// Adds a user; throws ``StoreError/duplicateName`` when the name is taken.
    func addUser(_ user: UserRecord) async throws -> UserRecord
    /// The user holding the token with this hash, revoked or not.
    func user(tokenHash: String) async throws -> UserRecord?
    func users() async throws -> [UserRecord]
    /// Marks the user revoked; returns false when there is no active user of that name.
    func revokeUser(name: String, at: Date) async throws -> Bool

    func insertSession(_ session: SessionRecord) async throws
    func recordCustomerJoined(sessionID: String, at: Date, client: String?) async throws
    func recordEnding(sessionID: String, ending: SessionEnding) async throws
    /// Sets the outcome (and note) of an ended session that has none yet; returns false otherwise.
    func recordLateOutcome(sessionID: String, outcome: SessionOutcome, note: String?) async throws -> Bool
    func session(id: String) async throws -> SessionRecord?
    func sessions(matching filter: SessionFilter) async throws -> [SessionRecord]
    /// Ends every session still open in the log (left by a broker that died) with `reason`.
    /// Returns how many were closed.
    func closeOpenSessions(reason: EndReason) async throws -> Int

    /// Appends an event that changes no session row (e.g. a failed join) to the audit chain.
    func recordEvent(sessionID: String?, kind: String, actor: String?, detail: [String: String], at: Date) async throws
    /// The audit events of one session, in order.
    func events(sessionID: String) async throws -> [AuditEvent]
    /// Recomputes the whole hash chain.
    func verifyAuditLog() async throws -> AuditVerification
}

/// Errors of a ``TandemStore``.
public struct StoreError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case duplicateName
        case notFound
    }

    private let code: Code
    private init(_ code: Code) { self.code = code }

    /// A user with that name exists already.
    public static let duplicateName = StoreError(.duplicateName)
    /// No row with that key.
    public static let notFound = StoreError(.notFound)

    public var description: String {
        switch code {
        case .duplicateName: "a user with that name already exists"
        case .notFound: "not found"
        }
    }
}
