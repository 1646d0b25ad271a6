import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// `tandem join` asks the post-session survey on the terminal (protocol/README.md §5.16): the
/// real CLI as the customer, its answers typed ahead on standard input, the agent in-process.
@Suite("Live TLS broker: tandem join asks the post-session survey on the terminal", .timeLimit(.minutes(2)))
struct JoinSurveyCLITests {
    /// Runs `tandem join` as the customer of a session the agent with `token` opens for
    /// `ticket`, with `input` typed ahead; the agent ends the session `resolved`. Returns what
    /// the CLI printed, its exit status and the session.
    func join(
        _ broker: LiveBroker,
        agent token: String,
        ticket: String,
        input: String,
        options: [String] = []
    ) async throws -> (text: String, status: Int32, sessionID: String) {
        let agent = LiveParticipant.connect(broker, hello: .agent(token: token, start: .init(ticket: ticket, mode: .screen)))
        let created = try await agent.waitFor("session.created") { if case .sessionCreated(let created) = $0 { created } else { nil } }
        let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
        let customer = try CLIProcess.start(
            ["join", created.joinCode, "--consent", "no"] + options + server,
            token: "",
            in: broker.directory,
            input: true
        )
        // Small enough for the pipe's buffer: written at once, read when the command asks.
        try customer.typeAhead(input)
        defer { customer.stop() }
        try await agent.waitFor("peer.joined") { if case .peerJoined(let joined) = $0 { joined } else { nil } }
        try await agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
        let status = try await customer.waitForExit(seconds: 30)
        return (customer.text, status, created.sessionID)
    }

    func surveyEvents(_ broker: LiveBroker, _ sessionID: String) async throws -> [AuditEvent] {
        try await broker.store.events(sessionID: sessionID).filter { $0.kind == .surveyAnswered }
    }

    /// A valid survey token of `sessionID` (the broker's key), as the customer's offer carried one.
    func token(_ broker: LiveBroker, _ sessionID: String) throws -> String {
        SurveyTokenSigner(deriving: try broker.signer()).token(sessionID: sessionID, expires: Date().addingTimeInterval(600))
    }

    /// How many times `part` occurs in `text`.
    func count(_ part: String, in text: String) -> Int {
        text.components(separatedBy: part).count - 1
    }

    @Test("the questions are asked in order (no NPS unless the operator asks it), the answer is logged once and thanked; a second is refused")
    func answered() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let run = try await join(broker, agent: alice, ticket: "HD-JS-1", input: "y\n5\nGreat help\n")
            #expect(run.status == 0, "\(run.text)")
            #expect(run.text.contains("Session ended (agent-ended). Thank you."), "\(run.text)")
            // Solved, satisfaction, then the comment: no recommendation question without --survey-nps.
            #expect(
                run.text.contains(
                    "Was your problem solved? [y/n] How satisfied are you, 1-5? (1 very dissatisfied, 5 very satisfied) "
                        + "Comment (optional, one line): Thank you for your answer."
                ),
                "\(run.text)"
            )
            #expect(!run.text.contains("recommend"))
            #expect(!run.text.contains("Survey skipped"))

            let events = try await surveyEvents(broker, run.sessionID)
            #expect(events.count == 1)
            #expect(events.first?.actor == "customer")
            #expect(events.first?.detail.filter { $0.key != "sessionSeq" } == ["solved": "yes", "score": "5", "comment": "Great help"])

            // The session has its answer: another, with a valid token, is refused and changes nothing.
            let surveys = SurveyTests()
            let again = try await surveys.post(broker, surveys.answer(try token(broker, run.sessionID), solved: false, score: 1))
            #expect(again.status == 409 && again.body.contains("survey-answered"), "\(again)")
            #expect(try await surveyEvents(broker, run.sessionID).count == 1)
        }
    }

    @Test("with --survey-nps the recommendation is asked; an answer it cannot take is asked again; the comment is trimmed")
    func npsAndRetries() async throws {
        try await LiveBroker.run(configure: { $0.surveyAsksNPS = true }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let run = try await join(broker, agent: alice, ticket: "HD-JS-2", input: "maybe\ny\n0\n5\n11\n9\n  Cable fixed  \n")
            #expect(run.status == 0, "\(run.text)")
            #expect(count("Was your problem solved? [y/n] ", in: run.text) == 2, "\(run.text)")
            #expect(count("Please answer y or n (or press Enter to skip the survey).", in: run.text) == 1)
            #expect(count("How satisfied are you, 1-5?", in: run.text) == 2)
            #expect(count("Please type a number from 1 to 5.", in: run.text) == 1)
            #expect(count("How likely are you to recommend us, 0-10?", in: run.text) == 2)
            #expect(count("Please type a number from 0 to 10, or press Enter to leave it out.", in: run.text) == 1)
            #expect(run.text.contains("Thank you for your answer."), "\(run.text)")
            let events = try await surveyEvents(broker, run.sessionID)
            #expect(events.count == 1)
            #expect(
                events.first?.detail.filter { $0.key != "sessionSeq" } == ["solved": "yes", "score": "5", "nps": "9", "comment": "Cable fixed"]
            )
        }
    }

    @Test("Enter on the first question, three answers it cannot take, or --no-survey: nothing is sent and the survey stays open")
    func skipped() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let enter = try await join(broker, agent: alice, ticket: "HD-JS-3", input: "\ny\n5\n")
            #expect(enter.status == 0, "\(enter.text)")
            #expect(count("Was your problem solved? [y/n] ", in: enter.text) == 1, "\(enter.text)")
            #expect(!enter.text.contains("How satisfied"))
            #expect(enter.text.contains("Survey skipped."), "\(enter.text)")

            // Asked `surveyAttempts` (3) times, told twice how to answer, then given up.
            let wrong = try await join(broker, agent: alice, ticket: "HD-JS-4", input: "x\nmaybe\nperhaps\n5\n")
            #expect(wrong.status == 0, "\(wrong.text)")
            #expect(count("Was your problem solved? [y/n] ", in: wrong.text) == 3, "\(wrong.text)")
            #expect(count("Please answer y or n (or press Enter to skip the survey).", in: wrong.text) == 2)
            #expect(!wrong.text.contains("How satisfied"))
            #expect(wrong.text.contains("Survey skipped."), "\(wrong.text)")

            let declined = try await join(broker, agent: alice, ticket: "HD-JS-5", input: "y\n5\n", options: ["--no-survey"])
            #expect(declined.status == 0, "\(declined.text)")
            #expect(declined.text.contains("Session ended (agent-ended). Thank you."), "\(declined.text)")
            #expect(!declined.text.contains("Was your problem solved?"))
            #expect(!declined.text.contains("Survey skipped."))

            for run in [enter, wrong, declined] {
                #expect(try await surveyEvents(broker, run.sessionID).isEmpty, "\(run.sessionID)")
            }
            // Nothing was sent: the survey can still be answered.
            let surveys = SurveyTests()
            #expect(try await surveys.post(broker, surveys.answer(try token(broker, enter.sessionID))).status == 201)
            #expect(try await surveyEvents(broker, enter.sessionID).count == 1)
        }
    }
}
