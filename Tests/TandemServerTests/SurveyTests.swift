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

    /// A session with a customer who joined with its code, ended by the agent with `outcome`:
    /// the customer's offer, the agent's `session.ended` and the session. The agent is the
    /// user with `agent`'s token, or a new one.
    func endedSession(
        _ broker: LiveBroker,
        ticket: String,
        agent token: String? = nil,
        outcome: SessionOutcome = .resolved
    ) async throws -> (offer: SurveyOffer?, agentEnded: SessionEnded, sessionID: String) {
        let token = if let token { token } else { try await broker.addUser("alice-\(ticket)", role: .agent) }
        let agent = LiveParticipant.connect(broker, hello: .agent(token: token, start: .init(ticket: ticket, mode: .camera)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let customer = LiveParticipant.connect(broker, hello: .customer(code: created.joinCode))
        try await customer.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
        try await agent.send(.sessionEnd(SessionEnd(outcome: outcome)))
        let agentEnded = try await agent.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
        let customerEnded = try await customer.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
        return (customerEnded.survey, agentEnded, created.sessionID)
    }

    /// The survey figures of one group, every member compared.
    struct Shown: Equatable {
        var sessions: Int
        var responses: Int
        var responseRate: Double?
        var solvedRate: Double?
        var agentResolvedRate: Double?
        var csat: Double?
        var averageScore: Double?
        var nps: Double?
        var npsResponses: Int
    }

    static func shown(_ figures: SurveyStats.Figures) -> Shown {
        Shown(
            sessions: figures.sessions,
            responses: figures.responses,
            responseRate: figures.responseRate,
            solvedRate: figures.solvedRate,
            agentResolvedRate: figures.agentResolvedRate,
            csat: figures.csat,
            averageScore: figures.averageScore,
            nps: figures.nps,
            npsResponses: figures.npsResponses
        )
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
            let expired = SurveyTokenSigner(deriving: try broker.signer()).token(sessionID: sessionID, expires: Date().addingTimeInterval(-1))
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

    @Test("statistics per agent, tier and line: from GET /v1/audit/stats and in the lines tandem audit stats prints")
    func statsByAgentTierAndLine() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let carol = try await broker.addUser("carol", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            // alice: two sessions joined with a code, resolved (solved, 5) and escalated (not solved, 2).
            let resolved = try #require(try await endedSession(broker, ticket: "HD-SVS-A1", agent: alice, outcome: .resolved).offer)
            #expect(try await post(broker, answer(resolved.token, solved: true, score: 5)).status == 201)
            let escalated = try #require(try await endedSession(broker, ticket: "HD-SVS-A2", agent: alice, outcome: .escalated).offer)
            #expect(try await post(broker, answer(escalated.token, solved: false, score: 2)).status == 201)
            // bob: resolved, and the customer does not answer.
            _ = try #require(try await endedSession(broker, ticket: "HD-SVS-B1", agent: bob, outcome: .resolved).offer)
            // carol: a premium customer of line2's queue (a signed help link), resolved (solved, 4).
            let link = try await broker.api(carol) { try await $0.helpLink(HelpLinkRequest(ticket: "HD-SVS-Q1", tier: .premium, line: "line2")) }
            let queueHello = try QueueAbuseTests.hello(link: link.url)
            let waiting = LiveParticipant.connect(broker, hello: queueHello)
            try await waiting.waitFor("position 1", QueueTests.isStatus(1))
            let taking = LiveParticipant.connect(broker, hello: .take(token: carol, .init(line: "line2")))
            try await taking.waitFor("session.assigned") { if case .sessionAssigned(let assigned) = $0 { assigned } else { nil } }
            try await waiting.waitFor("session.joined") { if case .sessionJoined(let joined) = $0 { joined } else { nil } }
            try await taking.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            let queuedEnded = try await waiting.waitFor("session.ended") { if case .sessionEnded(let ended) = $0 { ended } else { nil } }
            let queuedOffer = try #require(queuedEnded.survey)
            #expect(try await post(broker, answer(queuedOffer.token, solved: true, score: 4)).status == 201)

            // From the API: overall and per agent, tier and line (a session joined with a code has tier and line "none").
            let stats = try await broker.api(audrey) { try await $0.stats(AuditQuery()) }
            let survey = try #require(stats.survey)
            let codeJoined = Shown(
                sessions: 3,
                responses: 2,
                responseRate: 2.0 / 3,
                solvedRate: 0.5,
                agentResolvedRate: 0.5,
                csat: 0.5,
                averageScore: 3.5,
                nps: nil,
                npsResponses: 0
            )
            let queued = Shown(
                sessions: 1,
                responses: 1,
                responseRate: 1,
                solvedRate: 1,
                agentResolvedRate: 1,
                csat: 1,
                averageScore: 4,
                nps: nil,
                npsResponses: 0
            )
            #expect(
                Self.shown(survey.overall)
                    == Shown(
                        sessions: 4,
                        responses: 3,
                        responseRate: 0.75,
                        solvedRate: 2.0 / 3,
                        agentResolvedRate: 2.0 / 3,
                        csat: 2.0 / 3,
                        averageScore: 11.0 / 3,
                        nps: nil,
                        npsResponses: 0
                    )
            )
            #expect(
                survey.byAgent.mapValues(Self.shown) == [
                    "alice": Shown(
                        sessions: 2,
                        responses: 2,
                        responseRate: 1,
                        solvedRate: 0.5,
                        agentResolvedRate: 0.5,
                        csat: 0.5,
                        averageScore: 3.5,
                        nps: nil,
                        npsResponses: 0
                    ),
                    "bob": Shown(
                        sessions: 1,
                        responses: 0,
                        responseRate: 0,
                        solvedRate: nil,
                        agentResolvedRate: nil,
                        csat: nil,
                        averageScore: nil,
                        nps: nil,
                        npsResponses: 0
                    ),
                    "carol": queued,
                ]
            )
            #expect(survey.byTier.mapValues(Self.shown) == ["none": codeJoined, "premium": queued])
            #expect(survey.byLine.mapValues(Self.shown) == ["none": codeJoined, "line2": queued])

            // The same figures in the lines `tandem audit stats` prints, the groups sorted by name.
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            let binary = try BrokerProcess.binary
            let cli = try await ChildProcess.run(["TANDEM_TOKEN=\(audrey)", binary, "audit", "stats"] + server)
            let printed = String(decoding: cli.stdout, as: UTF8.self)
            #expect(cli.status == 0, "\(String(decoding: cli.stderr, as: UTF8.self))")
            let codeJoinedText =
                "2 of 3 answered (66.7 %); CSAT 50.0 %, average 3.50/5, NPS - (0); "
                + "solved says the customer 50.0 %, resolved says the agent 50.0 %"
            let queuedText =
                "1 of 1 answered (100.0 %); CSAT 100.0 %, average 4.00/5, NPS - (0); "
                + "solved says the customer 100.0 %, resolved says the agent 100.0 %"
            let expected: [(label: String, figures: String)] = [
                (
                    "customer surveys:",
                    "3 of 4 answered (75.0 %); CSAT 66.7 %, average 3.67/5, NPS - (0); "
                        + "solved says the customer 66.7 %, resolved says the agent 66.7 %"
                ),
                (
                    "  agent alice",
                    "2 of 2 answered (100.0 %); CSAT 50.0 %, average 3.50/5, NPS - (0); "
                        + "solved says the customer 50.0 %, resolved says the agent 50.0 %"
                ),
                ("  agent bob", "0 of 1 answered (0.0 %); CSAT -, average -/5, NPS - (0); solved says the customer -, resolved says the agent -"),
                ("  agent carol", queuedText),
                ("  tier none", codeJoinedText),
                ("  tier premium", queuedText),
                ("  line line2", queuedText),
                ("  line none", codeJoinedText),
            ]
            let lines = Array(printed.split(separator: "\n").map(String.init).drop(while: { !$0.hasPrefix("customer surveys:") }))
            #expect(lines.count == expected.count, "\(printed)")
            for (line, want) in zip(lines, expected) {
                #expect(line.hasPrefix(want.label + " "), "\(line)")
                #expect(line.dropFirst(want.label.count).trimmingCharacters(in: .whitespaces) == want.figures, "\(line)")
            }
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
