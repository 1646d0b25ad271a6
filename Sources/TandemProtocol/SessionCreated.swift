#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Broker → agent: the session exists and a customer can join with the code.
///
/// See [protocol/README.md § session.created](../../protocol/README.md#52-sessioncreated).
public struct SessionCreated: Sendable, Equatable, Codable, CustomStringConvertible {
    public var sessionID: String
    public var ticket: String
    public var mode: SessionMode
    /// The one-time join code, grouped for reading aloud (`482-913-557-301`).
    public var joinCode: String
    public var joinURL: String
    public var expiresAt: Date
    /// Lets this agent reconnect to the session after a dropped connection (§5.13).
    public var resumeToken: String?
    /// The session will be recorded if the customer agrees (§19).
    public var recording: Bool?

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case ticket, mode, joinCode
        case joinURL = "joinUrl"
        case expiresAt, resumeToken, recording
    }

    public init(
        sessionID: String,
        ticket: String,
        mode: SessionMode,
        joinCode: String,
        joinURL: String,
        expiresAt: Date,
        resumeToken: String? = nil,
        recording: Bool? = nil
    ) {
        self.resumeToken = resumeToken
        self.recording = recording
        self.sessionID = sessionID
        self.ticket = ticket
        self.mode = mode
        self.joinCode = joinCode
        self.joinURL = joinURL
        self.expiresAt = expiresAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.sessionID = try container.decode(String.self, forKey: .sessionID)
        self.ticket = try container.decode(String.self, forKey: .ticket)
        self.mode = try container.decode(SessionMode.self, forKey: .mode)
        self.joinCode = try container.decode(String.self, forKey: .joinCode)
        self.joinURL = try container.decode(String.self, forKey: .joinURL)
        let expiresAt = try container.decode(String.self, forKey: .expiresAt)
        guard let date = try? Date(expiresAt, strategy: .iso8601) else {
            throw DecodingError.dataCorruptedError(forKey: .expiresAt, in: container, debugDescription: "not an RFC 3339 date")
        }
        self.expiresAt = date
        self.resumeToken = try container.decodeIfPresent(String.self, forKey: .resumeToken)
        self.recording = try container.decodeIfPresent(Bool.self, forKey: .recording)
    }

    public var description: String {
        "SessionCreated(sessionID: \(sessionID), ticket: \(ticket), mode: \(mode.rawValue), joinCode: redacted)"
    }
}
