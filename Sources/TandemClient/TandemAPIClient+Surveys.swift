import Foundation
import NIOHTTP1
import TandemProtocol

/// The post-session survey (protocol/README.md §5.16): answered with the survey's token
/// from `session.ended`, without an account.
extension TandemAPIClient {
    /// Sends the customer's answer to `POST /v1/surveys`. A refusal throws ``Failure``:
    /// 409 `survey-answered`, 410 `survey-expired`, 403 `survey-invalid`, 400 `bad-request`.
    public static func answerSurvey(_ answer: SurveyAnswer, configuration: TandemClientConfiguration) async throws -> SurveyReceipt {
        let client = try TandemAPIClient(configuration: configuration, token: "")
        do {
            let receipt = try await client.answerSurvey(answer)
            try await client.shutdown()
            return receipt
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Sends the customer's answer with this client (its token, if any, is not needed).
    public func answerSurvey(_ answer: SurveyAnswer) async throws -> SurveyReceipt {
        let body = try TandemJSON.makeEncoder().encode(answer)
        return try await call(.POST, "/v1/surveys", body: body, as: SurveyReceipt.self)
    }
}
