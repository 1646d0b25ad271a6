/// The role a participant takes on the WebSocket, stated in ``Hello``.
///
/// See [protocol/README.md § hello](../../protocol/README.md#51-hello).
public enum ParticipantRole: String, Sendable, Codable, CaseIterable {
    case agent
    case customer
}

/// What the customer is asked to share. See [protocol/README.md § hello](../../protocol/README.md#51-hello).
public enum SessionMode: String, Sendable, Codable, CaseIterable {
    case screen
    case camera
}

/// How the agent closes the ticket's session. See [protocol/README.md § Outcomes](../../protocol/README.md#7-outcomes-and-end-reasons).
public enum SessionOutcome: String, Sendable, Codable, CaseIterable {
    case resolved
    case unresolved
    case escalated
    case abandoned
}

/// Why a session ended. See [protocol/README.md § End reasons](../../protocol/README.md#7-outcomes-and-end-reasons).
public enum EndReason: String, Sendable, Codable, CaseIterable {
    /// The agent sent `session.end` on its connection.
    case agentEnded = "agent-ended"
    /// An agent or admin ended it through `POST /v1/sessions/{id}/end` (`tandem session end`).
    case endedViaAPI = "ended-via-api"
    /// The agent's connection closed.
    case agentLeft = "agent-left"
    /// The customer sent `session.end` or its connection closed.
    case customerLeft = "customer-left"
    /// No customer joined before the join code expired.
    case expired
    /// A participant broke the protocol and was disconnected.
    case protocolViolation = "protocol-violation"
    /// A participant read too slowly: its control queue passed the hard limit (close 4503).
    case slowConsumer = "slow-consumer"
    /// The agent's user was revoked (`tandem users revoke`) while the session was live.
    case accessRevoked = "access-revoked"
    /// The broker was shut down while the session was live.
    case brokerShutdown = "broker-shutdown"
    /// The broker died; the session was closed when it restarted.
    case brokerCrash = "broker-crash"
    /// The broker holding the session stopped answering; another broker sharing its database closed it.
    case brokerLost = "broker-lost"
    /// The agent transferred the session and no agent took it before the transfer wait ran out.
    case transferUnanswered = "transfer-unanswered"
}

/// A customer's support tier: the queue answers premium before standard before basic.
/// See [protocol/README.md § Queue](../../protocol/README.md#16-queue).
public enum SupportTier: String, Sendable, Codable, CaseIterable, Comparable {
    case basic
    case standard
    case premium

    /// Higher is answered first.
    public var priority: Int {
        switch self {
        case .basic: 0
        case .standard: 1
        case .premium: 2
        }
    }

    public static func < (lhs: SupportTier, rhs: SupportTier) -> Bool { lhs.priority < rhs.priority }
}

/// A support line (`line1`, `line2`…): a queue that agents take work from.
/// See [protocol/README.md § Queue](../../protocol/README.md#16-queue).
public enum SupportLine {
    /// The line customers queue for when they name none.
    public static let first = "line1"

    /// 1-32 characters of lower-case letters, digits and `-`, starting with a letter or digit.
    public static func isValid(_ line: String) -> Bool {
        guard (1...32).contains(line.utf8.count), let first = line.utf8.first, first != UInt8(ascii: "-") else { return false }
        return line.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "-")
        }
    }
}
