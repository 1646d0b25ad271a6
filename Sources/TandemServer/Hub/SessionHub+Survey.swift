import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The post-session survey (protocol/README.md §5.16).
extension SessionHub {
    /// Why an answer was not taken.
    enum SurveyRefusal: Error, Equatable {
        /// Not a token of this deployment.
        case invalid
        case expired
        /// The session has its answer already.
        case answered
        /// A member out of range (its name).
        case invalidField(String)
    }

    /// The customer's `session.ended`: with the survey, open for a day.
    func surveyOffer(_ session: LiveSession, ending: SessionEnding) -> ControlMessage {
        let expires = ending.endedAt.addingTimeInterval(SurveyTokenSigner.lifetime)
        let asksNPS = configuration.surveyAsksNPS
        let offer = SurveyOffer(token: surveys.token(sessionID: session.id, expires: expires, asksNPS: asksNPS), expiresAt: expires, nps: asksNPS)
        return .sessionEnded(SessionEnded(sessionID: session.id, reason: ending.reason, outcome: ending.outcome, survey: offer))
    }

    /// Takes a customer's answer: a token of this deployment, still open, for a session not
    /// answered yet, with members in range (NPS only when its token asks it). The session is
    /// reserved before the first suspension and until its answer is logged (`survey.answered`),
    /// so answers sent at once to this broker cannot both be kept: the others are `answered`.
    func answerSurvey(_ answer: SurveyAnswer, now: Date) async throws -> Result<SurveyReceipt, SurveyRefusal> {
        let sessionID: String
        let asksNPS: Bool
        switch surveys.verify(answer.token, now: now) {
        case .valid(let id, let nps): (sessionID, asksNPS) = (id, nps)
        case .invalid: return .failure(.invalid)
        case .expired: return .failure(.expired)
        }
        if let field = answer.invalidField(npsAsked: asksNPS) { return .failure(.invalidField(field)) }
        guard surveysInFlight.insert(sessionID).inserted else { return .failure(.answered) }
        defer { surveysInFlight.remove(sessionID) }
        // A token is issued only at a session's logged end; a pruned log no longer has it.
        guard try await store.session(id: sessionID) != nil else { return .failure(.expired) }
        if try await store.events(sessionID: sessionID).contains(where: { $0.kind == .surveyAnswered }) { return .failure(.answered) }
        try await store.recordEvent(sessionID: sessionID, kind: .surveyAnswered, actor: "customer", detail: answer.auditDetail, at: now)
        metrics.surveyAnswered(answer)
        logger.info("Survey answered", metadata: ["tandem.session.id": "\(sessionID)"])
        return .success(SurveyReceipt(sessionID: sessionID, answeredAt: now))
    }
}
