#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The post-session survey offered to the customer in its `session.ended` (§5.16).
public struct SurveyOffer: Sendable, Equatable, Codable {
    /// `tds_…`: what `POST /v1/surveys` takes instead of an account.
    public var token: String
    public var expiresAt: Date
    /// Whether "How likely are you to recommend us?" (0–10) is asked.
    public var nps: Bool

    public init(token: String, expiresAt: Date, nps: Bool) {
        self.token = token
        self.expiresAt = expiresAt
        self.nps = nps
    }
}

/// The customer's answer, the body of `POST /v1/surveys` (§5.16, §9).
public struct SurveyAnswer: Sendable, Equatable, Codable {
    public static let maxCommentLength = 1000
    /// The largest body `POST /v1/surveys` reads: a 1000-character comment in 4-byte UTF-8 fits.
    public static let maxBodyBytes = 8192

    public var token: String
    /// "Was your problem solved?"
    public var solved: Bool
    /// Satisfaction, 1–5.
    public var score: Int
    /// "How likely are you to recommend us?", 0–10, only when the offer asked it.
    public var nps: Int?
    public var comment: String?

    public init(token: String, solved: Bool, score: Int, nps: Int? = nil, comment: String? = nil) {
        self.token = token
        self.solved = solved
        self.score = score
        self.nps = nps
        self.comment = comment
    }

    /// The member that is out of range, or nil; `npsAsked`: whether the offer asked for `nps`.
    public func invalidField(npsAsked: Bool) -> String? {
        if !(1...5).contains(score) { return "score" }
        if let nps, !npsAsked || !(0...10).contains(nps) { return "nps" }
        if let comment {
            if comment.count > Self.maxCommentLength { return "comment" }
            let allowed: Set<Unicode.Scalar> = ["\n", "\r", "\t"]
            if comment.unicodeScalars.contains(where: { ($0.properties.generalCategory == .control && !allowed.contains($0)) }) {
                return "comment"
            }
        }
        return nil
    }

    /// The detail of the `survey.answered` audit event.
    public var auditDetail: [String: String] {
        var detail = ["solved": solved ? "yes" : "no", "score": String(score)]
        if let nps { detail["nps"] = String(nps) }
        if let comment, !comment.isEmpty { detail["comment"] = comment }
        return detail
    }
}

/// `POST /v1/surveys` answered 201.
public struct SurveyReceipt: Sendable, Equatable, Codable {
    public var sessionID: String
    public var answeredAt: Date

    enum CodingKeys: String, CodingKey {
        case sessionID = "sessionId"
        case answeredAt
    }

    public init(sessionID: String, answeredAt: Date) {
        self.sessionID = sessionID
        self.answeredAt = answeredAt
    }
}
