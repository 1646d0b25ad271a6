/// What an API token may do.
///
/// - `agent`: start and end own sessions, read own sessions' log.
/// - `auditor`: read every session's log, nothing else.
/// - `admin`: everything an agent and an auditor may do, on every session, and pruning the log.
public enum UserRole: String, Sendable, Codable, CaseIterable {
    case agent
    case auditor
    case admin

    public var canStartSessions: Bool { self == .agent || self == .admin }
    public var canReadAllSessions: Bool { self == .auditor || self == .admin }
    public var canEndAnySession: Bool { self == .admin }
    /// Joining live sessions as a supervisor (§18).
    public var canSupervise: Bool { self == .admin }
    /// Removing old audit events (`tandem audit prune`).
    public var canPruneAuditLog: Bool { self == .admin }
}
