import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@testable import TandemServer

/// The post-session survey over a live TLS broker (§5.16): offered to the customer only,
/// answered once with its token (no account), every refusal clear and nothing logged for it,
/// counted in the statistics, the metrics and the helpdesk webhook.
@Suite("Live TLS broker: the customer's post-session survey", .timeLimit(.minutes(2)))
struct SurveyTests {
    /// POSTs `body` to `/v1/surveys` without a token; the status and the body.
    func post(_ broker: LiveBroker, _ body: String) async throws -> (status: Int, body: String) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(broker.caFile)]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: "https://localhost:\(broker.port)/v1/surveys")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func answer(_ token: String, solved: Bool = true, score: Int = 4, nps: Int? = nil, comment: String? = nil) throws -> String {
        let body = SurveyAnswer(token: token, solved: solved, score: score, nps: nps, comment: comment)
        return String(decoding: try JSONEncoder().encode(body), as: UTF8.self)
    }

    /// A session with a customer, ended by the agent: the customer's offer and the agent's `session.ended`.
    func endedSession(_ broker: LiveBroker, ticket: String) async throws -> (offer: SurveyOffer?, agentEnded: SessionEnded, sessionID: String) {
        let alice = try await broker.addUser("alice-\(ticket)", role: .agent)
        let agent = LiveParticipant.connect(broker, hello: .agent(token: alice, start: .init(ticket: ticket, mode: .camera)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
        try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
        try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
        let agentEnded = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
        let customerEnded = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
        return (customerEnded.survey, agentEnded, created.sessionID)
    }

    func surveyEvents(_ broker: LiveBroker, _ sessionID: String) async throws -> [AuditEvent] {
        try await broker.store.events(sessionID: sessionID).filter { $0.kind == .surveyAnswered }
    }

    @Test("offered to the customer only; answered once; refusals are clear and write nothing; stats and metrics count it")
    func answeredOnce() async throws {
        try await LiveBroker.run { broker in
            let (offer, agentEnded, sessionID) = try await endedSession(broker, ticket: "HD-SV-1")
            #expect(agentEnded.survey == nil)
            let survey = try #require(offer)
            #expect(survey.token.hasPrefix("tds_\(sessionID)."))
            #expect(!survey.nps)
            #expect(abs(survey.expiresAt.timeIntervalSinceNow - SurveyTokenSigner.lifetime) < 60)

            // Out of range, NPS not asked, a comment too long or with control characters, a body too large.
            #expect(try await post(broker, answer(survey.token, score: 6)).status == 400)
            #expect(try await post(broker, answer(survey.token, nps: 9)).status == 400)
            #expect(try await post(broker, answer(survey.token, comment: String(repeating: "x", count: 1001))).status == 400)
            #expect(try await post(broker, answer(survey.token, comment: "bell \u{07}")).status == 400)
            #expect(try await post(broker, #"{"token":"\#(survey.token)","solved":"yes","score":4}"#).status == 400)
            #expect(try await post(broker, String(repeating: " ", count: SurveyAnswer.maxBodyBytes + 1)).status == 413)
            // Forged, another deployment's, and expired tokens.
            var altered = Array(survey.token)
            altered[altered.count - 5] = altered[altered.count - 5] == "A" ? "B" : "A"
            let forged = try await post(broker, answer(String(altered)))
            #expect(forged.status == 403 && forged.body.contains("survey-invalid"))
            let foreign = SurveyTokenSigner(deriving: AuditSigner()).token(sessionID: sessionID, expires: Date().addingTimeInterval(600))
            #expect(try await post(broker, answer(foreign)).status == 403)
            let key = try AuditSigningKey.loadOrCreate(directory: broker.directory, logger: .init(label: "test"))
            let expired = SurveyTokenSigner(deriving: key.signer).token(sessionID: sessionID, expires: Date().addingTimeInterval(-1))
            let late = try await post(broker, answer(expired))
            #expect(late.status == 410 && late.body.contains("survey-expired"))
            #expect(try await surveyEvents(broker, sessionID).isEmpty)

            // The answer, once: eight sent at the same moment get one 201 and seven 409s.
            let body = try answer(survey.token, comment: "Cable was in the <b>WAN</b> port\nthanks")
            let results = try await withThrowingTaskGroup(of: (status: Int, body: String).self) { group in
                for _ in 0..<8 { group.addTask { try await post(broker, body) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0.status == 201 }.count == 1)
            #expect(results.filter { $0.status == 409 && $0.body.contains("survey-answered") }.count == 7)
            let first = try #require(results.first { $0.status == 201 })
            let receipt = try TandemJSON.makeDecoder().decode(SurveyReceipt.self, from: Data(first.body.utf8))
            #expect(receipt.sessionID == sessionID)
            let again = try await post(broker, answer(survey.token, solved: false, score: 1))
            #expect(again.status == 409 && again.body.contains("survey-answered"))
            let events = try await surveyEvents(broker, sessionID)
            #expect(events.count == 1)
            #expect(events.first?.actor == "customer")
            #expect(
                events.first?.detail.filter { $0.key != "sessionSeq" } == [
                    "solved": "yes", "score": "4", "comment": "Cable was in the <b>WAN</b> port\nthanks",
                ]
            )

            let figures = SurveyStats(
                sessions: try await broker.store.sessions(matching: SessionFilter(limit: .max)),
                events: try await broker.store.auditEvents(since: nil, until: nil, limit: .max)
            ).overall
            #expect(figures.responses == 1 && figures.sessions == 1 && figures.responseRate == 1)
            #expect(figures.csat == 1 && figures.averageScore == 4 && figures.solvedRate == 1 && figures.agentResolvedRate == 1)
            #expect(figures.nps == nil)
            // The CSV export carries the answer, the customer's comment as text, not a formula.
            let auditor = try await broker.addUser("audrey", role: .auditor)
            let csv = String(buffer: try await broker.api(auditor) { try await $0.export(what: "sessions", format: "csv", query: AuditQuery()) })
            let row = try #require(csv.components(separatedBy: "\r\n").first { $0.hasPrefix(sessionID + ",") })
            #expect(row.hasSuffix(",yes,4,,\"Cable was in the <b>WAN</b> port\nthanks\""), "\(row)")
            let metrics = try await MetricsText.fetch(broker)
            #expect(metrics.value(#"tandem_survey_responses_total{solved="yes"}"#) == 1)
            #expect(metrics.value(#"tandem_survey_scores_total{score="4"}"#) == 1)
        }
    }

    @Test("with --survey-nps the offer asks NPS; the helpdesk webhook gets survey.answered with the answer")
    func npsAndWebhook() async throws {
        let receiver = HelpdeskReceiver()
        receiver.failing.withLock { $0 = false }
        try await receiver.run { url in
            try await LiveBroker.run(configure: {
                $0.surveyAsksNPS = true
                $0.webhooks = [.init(url: url)]
                $0.webhookSecret = "s3cret"
            }) { broker in
                let (offer, _, sessionID) = try await endedSession(broker, ticket: "HD-SV-2")
                let survey = try #require(offer)
                #expect(survey.nps)
                #expect(try await post(broker, answer(survey.token, nps: 11)).status == 400)
                #expect(try await post(broker, answer(survey.token, solved: false, score: 2, nps: 3)).status == 201)
                let deliveries = try await receiver.waitFor(2)
                let answered = try #require(deliveries.first { $0.event == "survey.answered" })
                let payload = try TandemJSON.makeDecoder().decode(WebhookPayload.self, from: answered.body)
                #expect(payload.session?.id == sessionID)
                #expect(payload.survey == WebhookPayload.Survey(detail: ["solved": "no", "score": "2", "nps": "3"]))
                let figures = SurveyStats(
                    sessions: try await broker.store.sessions(matching: SessionFilter(limit: .max)),
                    events: try await broker.store.auditEvents(since: nil, until: nil, limit: .max)
                ).overall
                #expect(figures.nps == -100 && figures.npsResponses == 1 && figures.csat == 0 && figures.solvedRate == 0)
            }
        }
    }
}
