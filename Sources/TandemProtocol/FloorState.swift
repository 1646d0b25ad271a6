#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Broker → admin on a floor connection (`floor.state`, protocol/README.md §20.6): the
/// whole support floor of this broker — queues, agents, live sessions and today's figures.
public struct FloorState: Sendable, Equatable, Codable {
    /// Waiting entries of one line and tier.
    public struct LineQueue: Sendable, Equatable, Codable {
        public var line: String
        public var tier: SupportTier
        public var waiting: Int
        public var oldestWaitSeconds: Int

        public init(line: String, tier: SupportTier, waiting: Int, oldestWaitSeconds: Int) {
            self.line = line
            self.tier = tier
            self.waiting = waiting
            self.oldestWaitSeconds = oldestWaitSeconds
        }
    }

    public struct Waiting: Sendable, Equatable, Codable {
        public var queueID: String
        public var kind: QueueListing.Entry.Kind
        public var ticket: String
        public var tier: SupportTier
        public var line: String
        public var skills: [String]
        public var waitedSeconds: Int
        public var offeredTo: String?

        enum CodingKeys: String, CodingKey {
            case queueID = "queueId"
            case kind, ticket, tier, line, skills, waitedSeconds, offeredTo
        }

        public init(
            queueID: String,
            kind: QueueListing.Entry.Kind,
            ticket: String,
            tier: SupportTier,
            line: String,
            skills: [String],
            waitedSeconds: Int,
            offeredTo: String?
        ) {
            self.queueID = queueID
            self.kind = kind
            self.ticket = ticket
            self.tier = tier
            self.line = line
            self.skills = skills
            self.waitedSeconds = waitedSeconds
            self.offeredTo = offeredTo
        }
    }

    public struct Agent: Sendable, Equatable, Codable {
        public var name: String
        public var state: AgentState
        public var sessions: Int
        public var maxSessions: Int
        public var lines: [String]
        public var skills: [String]
        public var since: Date

        public init(name: String, state: AgentState, sessions: Int, maxSessions: Int, lines: [String], skills: [String], since: Date) {
            self.name = name
            self.state = state
            self.sessions = sessions
            self.maxSessions = maxSessions
            self.lines = lines
            self.skills = skills
            self.since = since
        }
    }

    public struct HelpRequest: Sendable, Equatable, Codable {
        public var note: String?
        public var at: Date

        public init(note: String?, at: Date) {
            self.note = note
            self.at = at
        }
    }

    public struct Session: Sendable, Equatable, Codable {
        public var sessionID: String
        public var ticket: String
        public var agent: String
        public var tier: SupportTier?
        public var line: String?
        public var startedAt: Date
        public var customerPresent: Bool
        public var supervisors: [String]
        public var helpRequested: HelpRequest?

        enum CodingKeys: String, CodingKey {
            case sessionID = "sessionId"
            case ticket, agent, tier, line, startedAt, customerPresent, supervisors, helpRequested
        }

        public init(
            sessionID: String,
            ticket: String,
            agent: String,
            tier: SupportTier?,
            line: String?,
            startedAt: Date,
            customerPresent: Bool,
            supervisors: [String],
            helpRequested: HelpRequest?
        ) {
            self.sessionID = sessionID
            self.ticket = ticket
            self.agent = agent
            self.tier = tier
            self.line = line
            self.startedAt = startedAt
            self.customerPresent = customerPresent
            self.supervisors = supervisors
            self.helpRequested = helpRequested
        }
    }

    public var at: Date
    public var targetSeconds: Int
    public var serviceLevelTarget: Double
    public var queues: [LineQueue]
    public var waiting: [Waiting]
    public var agents: [Agent]
    public var sessions: [Session]
    /// Absent until the first figures were read from the log.
    public var today: FloorDay?

    public init(
        at: Date,
        targetSeconds: Int,
        serviceLevelTarget: Double,
        queues: [LineQueue],
        waiting: [Waiting],
        agents: [Agent],
        sessions: [Session],
        today: FloorDay?
    ) {
        self.at = at
        self.targetSeconds = targetSeconds
        self.serviceLevelTarget = serviceLevelTarget
        self.queues = queues
        self.waiting = waiting
        self.agents = agents
        self.sessions = sessions
        self.today = today
    }
}
