#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Body of `POST /v1/sessions/{id}/end`. See [protocol/README.md § HTTPS API](../../protocol/README.md#9-https-api).
public struct EndSessionRequest: Sendable, Equatable, Codable {
    public var outcome: SessionOutcome
    public var note: String?

    public init(outcome: SessionOutcome, note: String? = nil) {
        self.outcome = outcome
        self.note = note
    }
}

/// Body of `GET /v1/audit/sessions`. See [protocol/README.md § HTTPS API](../../protocol/README.md#9-https-api).
public struct SessionList: Sendable, Equatable, Codable {
    public var sessions: [SessionRecord]

    public init(sessions: [SessionRecord]) {
        self.sessions = sessions
    }
}

/// Reply of `POST /v1/console-tokens`: a short-lived sign-in for the browser agent console.
public struct ConsoleTokenGrant: Sendable, Equatable, Codable {
    public var token: String
    public var expiresAt: Date
    /// The console's address with the token in the fragment (never sent to the server).
    public var url: String

    public init(token: String, expiresAt: Date, url: String) {
        self.token = token
        self.expiresAt = expiresAt
        self.url = url
    }
}

/// Body of every HTTPS API error: `{"error": {"code": "...", "message": "..."}}`.
public struct APIErrorBody: Sendable, Equatable, Codable {
    public struct Detail: Sendable, Equatable, Codable {
        public var code: String
        public var message: String
    }

    public var error: Detail

    public init(code: String, message: String) {
        self.error = Detail(code: code, message: message)
    }
}
