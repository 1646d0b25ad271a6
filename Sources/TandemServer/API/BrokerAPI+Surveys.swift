import Hummingbird
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The post-session survey over HTTPS (protocol/README.md §5.16).
extension BrokerAPI {
    /// `POST /v1/surveys` with `{"token", "solved", "score", "nps"?, "comment"?}`: no account,
    /// the survey's token. 201 with the session and the time; nothing is written for a refusal.
    func answerSurvey(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let answer = try await decodeBody(
            SurveyAnswer.self,
            of: request,
            upTo: SurveyAnswer.maxBodyBytes,
            shape: "{\"token\": \"tds_…\", \"solved\": true, \"score\": 1-5, \"nps\": 0-10, \"comment\": \"…\"}"
        )
        switch try await hub.answerSurvey(answer, now: Date()) {
        case .success(let receipt):
            var response = try json(receipt)
            response.status = .created
            return response
        case .failure(.invalid):
            throw APIError(.surveyInvalid, "this survey link is not valid")
        case .failure(.expired):
            throw APIError(.surveyExpired, "this survey has closed (surveys stay open for 24 hours after the session)")
        case .failure(.answered):
            throw APIError(.surveyAnswered, "this session's survey has been answered already")
        case .failure(.invalidField(let field)):
            throw APIError.badRequest(Self.surveyFieldMessage(field))
        }
    }

    static func surveyFieldMessage(_ field: String) -> String {
        switch field {
        case "score": "score must be 1-5"
        case "nps": "nps must be 0-10, and only when the survey asks it"
        case "comment": "comment is at most \(SurveyAnswer.maxCommentLength) characters, without control characters other than line breaks and tabs"
        default: "\(field) is not valid"
        }
    }
}
