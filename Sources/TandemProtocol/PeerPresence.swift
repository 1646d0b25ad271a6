#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Broker → participant: the other side's connection dropped; it may come back until `until`
/// (`peer.away`), or it came back (`peer.back`). See [protocol/README.md § Reconnecting](../../protocol/README.md#513-reconnecting).
public struct PeerPresence: Sendable, Equatable, Codable {
    public var role: ParticipantRole
    /// `peer.away` only: the end of the grace period.
    public var until: Date?
    /// `peer.back` only: what the returning participant decodes (§5.1), if it said.
    public var codecs: CodecList?

    public init(role: ParticipantRole, until: Date? = nil, codecs: CodecList? = nil) {
        self.role = role
        self.until = until
        self.codecs = codecs
    }
}

/// Broker → participant that reconnected with its resume token: it is back in the session.
/// What it missed follows (the peer's streams, overlay snapshots). See
/// [protocol/README.md § Reconnecting](../../protocol/README.md#513-reconnecting).
public struct SessionResumed: Sendable, Equatable, Codable {
    public var sessionID: String
    public var role: ParticipantRole
    public var ticket: String
    public var mode: SessionMode
    public var agent: String
    /// Whether the other participant is connected now.
    public var peerPresent: Bool
    /// The token for the next reconnection (each token works once).
    public var resumeToken: String
    /// What the other participant decodes (§5.1), when it is connected and said so.
    public var codecs: CodecList?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case role, ticket, mode, agent, peerPresent, resumeToken, codecs
    }

    public init(
        sessionID: String,
        role: ParticipantRole,
        ticket: String,
        mode: SessionMode,
        agent: String,
        peerPresent: Bool,
        resumeToken: String,
        codecs: CodecList? = nil
    ) {
        self.codecs = codecs
        self.sessionID = sessionID
        self.role = role
        self.ticket = ticket
        self.mode = mode
        self.agent = agent
        self.peerPresent = peerPresent
        self.resumeToken = resumeToken
    }
}
