import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// The floor (protocol/README.md §20.5, §20.6) on a real TLS broker.
@Suite("Live TLS broker: the floor (protocol/README.md §20.6)", .timeLimit(.minutes(2)))
struct FloorTests {
    static func floor(_ match: @escaping (FloorState) -> Bool) -> (ControlMessage) -> FloorState? {
        { if case .floorState(let state) = $0, match(state) { state } else { nil } }
    }

    @Test(
        "an admin's floor shows agents, waiting customers and live sessions as they change, today's figures, and help requests until a supervisor joins"
    )
    func liveFloor() async throws {
        try await LiveBroker.run(configure: { $0.routing.offerTimeout = .seconds(30) }) { broker in
            let root = try await broker.addUser("root", role: .admin)
            let alice = try await broker.addUser("alice", role: .agent)
            let floor = LiveParticipant.connect(broker, hello: .floor(token: root))
            let empty = try await floor.waitFor("floor.state", Self.floor { _ in true })
            #expect(empty.agents.isEmpty)
            #expect(empty.waiting.isEmpty)
            #expect(empty.targetSeconds == 20)
            #expect(empty.serviceLevelTarget == 0.8)
            #expect(empty.today?.answered == 0)
            #expect(empty.today?.byHour.count == 24)

            let desk = LiveParticipant.connect(broker, hello: .presence(token: alice, Presence(state: .available, lines: ["line1", "line2"])))
            let online = try await floor.waitFor("alice available") { message in
                Self.floor { $0.agents.contains { $0.name == "alice" && $0.state == .available } }(message)
            }
            #expect(online.agents.first?.lines == ["line1", "line2"])
            let customer = LiveParticipant.connect(broker, hello: .queue(.init(ticket: "HD-F1", tier: .basic)))
            let waiting = try await floor.waitFor("HD-F1 waiting, offered to alice") { message in
                Self.floor { $0.waiting.contains { $0.ticket == "HD-F1" && $0.offeredTo == "alice" } }(message)
            }
            #expect(waiting.queues.first { $0.line == "line1" && $0.tier == .basic }?.waiting == 1)
            let offer = try await desk.waitFor("offer") { if case .queueOffer(let o) = $0 { o } else { nil } }
            let session = LiveParticipant.connect(broker, hello: .take(token: alice, .init(offer: offer.offerID)))
            let assigned = try await session.waitFor("session.assigned") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
            try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0 { j } else { nil } }
            let live = try await floor.waitFor("the live session, alice busy") { message in
                Self.floor { state in
                    state.sessions.contains { $0.sessionID == assigned.sessionID } && state.agents.first?.state == .busy && state.waiting.isEmpty
                }(message)
            }
            let row = try #require(live.sessions.first)
            #expect(row.ticket == "HD-F1")
            #expect(row.agent == "alice")
            #expect(row.line == "line1")
            #expect(row.customerPresent)
            #expect(row.helpRequested == nil)

            // The agent asks for a supervisor: on the floor until one joins.
            try await session.send(.supervisorRequest(SupervisorRequest(note: "angry customer")))
            let asked = try await floor.waitFor("help requested") { Self.floor { $0.sessions.first?.helpRequested != nil }($0) }
            #expect(asked.sessions.first?.helpRequested?.note == "angry customer")
            let supervisor = LiveParticipant.connect(broker, hello: .watch(token: root, .init(sessionID: assigned.sessionID)))
            try await supervisor.waitFor("session.watching") { if case .sessionWatching(let w) = $0 { w } else { nil } }
            let answered = try await floor.waitFor("help answered") { message in
                Self.floor { $0.sessions.first?.helpRequested == nil && $0.sessions.first?.supervisors == ["root"] }(message)
            }
            #expect(answered.sessions.count == 1)

            // Ended with an outcome: today's figures follow (read from the log, at most 10 s old).
            try await session.send(.sessionEnd(SessionEnd(outcome: .resolved)))
            let today = try await floor.waitFor("today's figures", seconds: 30) { message in
                Self.floor { $0.today?.outcomes["resolved"] == 1 && $0.sessions.isEmpty }(message)
            }
            #expect(today.today?.answered == 1)
            // The one wait lands in its bucket and counts within the target if it was; how long
            // it was depends on the machine's load (a loaded CI runner took over 10 s).
            let waited = try #require(today.today?.medianWaitSeconds)
            let bucket = FloorDay.waitBuckets.firstIndex { waited <= Double($0) } ?? FloorDay.waitBuckets.count
            #expect(today.today?.waits == (0...FloorDay.waitBuckets.count).map { $0 == bucket ? 1 : 0 })
            #expect(today.today?.answeredWithinTarget == (waited <= Double(today.targetSeconds) ? 1 : 0))
            #expect(today.today?.serviceLevel == (waited <= Double(today.targetSeconds) ? 1 : 0))
            #expect(today.today?.byHour.map(\.answered).reduce(0, +) == 1)
            #expect(today.today?.surveys == 0 && today.today?.csat == nil && today.today?.fcr == nil)

            // The customer answers the survey (solved, 5): today's CSAT and FCR follow.
            let ended = try await customer.waitFor("the customer's session.ended") { if case .sessionEnded(let e) = $0 { e } else { nil } }
            let survey = try #require(ended.survey)
            let surveys = SurveyTests()
            #expect(try await surveys.post(broker, surveys.answer(survey.token, solved: true, score: 5)).status == 201)
            let surveyed = try await floor.waitFor("today's survey", seconds: 30) { Self.floor { $0.today?.surveys == 1 }($0) }
            #expect(surveyed.today?.csat == 1)
            #expect(surveyed.today?.fcr == 1)
            #expect(surveyed.today?.answered == 1)

            // The floor only listens.
            try await floor.send(.chat(Chat(text: "hi")))
            try await floor.waitFor("unexpected-message") { if case .error(let e) = $0, e.code == .unexpectedMessage { e } else { nil } }
        }
    }

    @Test("only admins open the floor (4403), and at most the configured number of floor connections (4429)")
    func access() async throws {
        try await LiveBroker.run(configure: { $0.routing.maxFloorConnections = 1 }) { broker in
            let root = try await broker.addUser("root", role: .admin)
            let alice = try await broker.addUser("alice", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let agent = LiveParticipant.connect(broker, hello: .floor(token: alice))
            #expect(try await agent.closure.value.tandemCode == .forbidden)
            let auditor = LiveParticipant.connect(broker, hello: .floor(token: audrey))
            #expect(try await auditor.closure.value.tandemCode == .forbidden)
            let first = LiveParticipant.connect(broker, hello: .floor(token: root))
            try await first.waitFor("floor.state") { if case .floorState(let s) = $0 { s } else { nil } }
            let second = LiveParticipant.connect(broker, hello: .floor(token: root))
            #expect(try await second.closure.value.tandemCode == .rateLimited)
            #expect(second.messages.contains { if case .error(let e) = $0 { e.code == .tooManyConnections } else { false } })
            // A freed place can be taken again.
            first.leave()
            _ = try await first.closure.value
            var third: LiveParticipant?
            for _ in 0..<50 {
                // Welcomed or refused, whichever it is: an attempt given up on while its welcome
                // was still on the way (a loaded machine) would hold the only place.
                let attempt = LiveParticipant.connect(broker, hello: .floor(token: root))
                let welcomed = try await attempt.waitFor("floor.state or too-many-connections") { message -> Bool? in
                    switch message {
                    case .floorState: true
                    // Refused (the place not yet free, or its hello timed out on a loaded machine): try again.
                    case .error: false
                    default: nil
                    }
                }
                if welcomed {
                    third = attempt
                    break
                }
                _ = try await attempt.closure.value
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(third != nil)
        }
    }
}
