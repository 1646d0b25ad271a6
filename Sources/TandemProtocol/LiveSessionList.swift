#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Body of `GET /v1/sessions/live` (admins): the live sessions of this broker, for a
/// supervisor choosing one to join (§18).
public struct LiveSessionList: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var id: String
        public var ticket: String
        public var agent: String
        public var mode: SessionMode
        public var createdAt: Date
        public var customerPresent: Bool
        public var transferring: Bool
        public var supervisors: [String]

        public init(
            id: String,
            ticket: String,
            agent: String,
            mode: SessionMode,
            createdAt: Date,
            customerPresent: Bool,
            transferring: Bool,
            supervisors: [String]
        ) {
            self.id = id
            self.ticket = ticket
            self.agent = agent
            self.mode = mode
            self.createdAt = createdAt
            self.customerPresent = customerPresent
            self.transferring = transferring
            self.supervisors = supervisors
        }
    }

    public var sessions: [Entry]

    public init(sessions: [Entry]) {
        self.sessions = sessions
    }
}
