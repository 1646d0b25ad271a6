import Foundation
import Logging
import TandemClient
import TandemCore
import TandemPostgres
import TandemProtocol
import TandemServer
import Testing

/// One floor across two `tandem serve` processes on one PostgreSQL (protocol/README.md §20.7).
/// Needs `TANDEM_TEST_POSTGRES_URL` (scripts/test.sh starts a server).
@Suite(
    "Two broker processes on one PostgreSQL: one floor",
    .enabled(if: ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"] != nil, "TANDEM_TEST_POSTGRES_URL is not set"),
    .timeLimit(.minutes(2))
)
struct MultiBrokerFloorTests {
    let logger = Logger(label: "tandem.test.client")

    @Test(
        "a customer waiting on A is taken by an agent on B (claimed, sent to A with 4421, paired there); a transfer on A is taken from B; agents of both brokers are on both floors"
    )
    func takeAcrossBrokers() async throws {
        let brokers = try await TwoBrokers.start(schema: "mf", logger: logger)
        defer { brokers.stop() }
        let (a, brokerA, brokerB, store) = (brokers.a, brokers.brokerA, brokers.brokerB, brokers.store)
        var tokens: [String: String] = [:]
        for (name, role) in [("alice", UserRole.agent), ("bob", .agent), ("root", .admin)] {
            let token = APIToken.generate()
            _ = try await store.addUser(UserRecord(name: name, role: role, tokenHash: APIToken.hash(token), createdAt: Date()))
            tokens[name] = token
        }

        // Alice is present on A (away, so nothing is offered to her), bob on B; both floors show both.
        let aliceDesk = brokerA.connect(hello: .presence(token: tokens["alice"]!, Presence(state: .away)))
        try await aliceDesk.waitFor("alice online") { if case .presenceStatus(let s) = $0 { s } else { nil } }
        let bobDesk = brokerB.connect(hello: .presence(token: tokens["bob"]!, Presence(state: .away, lines: ["line1", "line2"])))
        try await bobDesk.waitFor("bob online") { if case .presenceStatus(let s) = $0 { s } else { nil } }
        for floorBroker in [brokerA, brokerB] {
            let floor = floorBroker.connect(hello: .floor(token: tokens["root"]!))
            let state = try await floor.waitFor("both agents on the floor of \(floorBroker.port)") { message in
                if case .floorState(let state) = message, Set(state.agents.map(\.name)) == ["alice", "bob"] { state } else { nil }
            }
            #expect(state.agents.allSatisfy { $0.state == .away })
            floor.leave()
        }
        let listAtA = try await brokerA.api(tokens["alice"]!) { try await $0.agents() }
        #expect(listAtA.agents.map(\.name) == ["alice", "bob"])

        // A customer waits on A; bob pulls on B and is sent to A, where the entry is held for him.
        let customer = brokerA.connect(hello: .queue(.init(ticket: "HD-MF1", tier: .basic)))
        try await customer.waitFor("queue.status") { if case .queueStatus(let s) = $0 { s } else { nil } }
        var redirect: String?
        for _ in 0..<100 where redirect == nil {
            let pull = brokerB.connect(hello: .take(token: tokens["bob"]!, .init()))
            let closure = try await pull.closure.value
            if closure.tandemCode == .otherBroker {
                redirect = pull.messages.compactMap { if case .error(let e) = $0 { e.redirect } else { nil } }.first
            } else {
                // A publishes its queue within a second: B may not see the customer yet.
                #expect(closure.tandemCode == .queueEmpty)
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(redirect == "https://127.0.0.1:\(a.port)")
        // Bob follows the redirect with the same hello; A gives him the entry claimed for him.
        let take = brokerA.connect(hello: .take(token: tokens["bob"]!, .init()))
        let assigned = try await take.waitFor("session.assigned on A") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
        #expect(assigned.ticket == "HD-MF1")
        try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0, j.agent == "bob" { j } else { nil } }

        // Bob hands it to line2; an agent on B pulling line2 is sent to A like for a customer
        // (here bob again, from B: the session stays on A).
        try await take.send(.sessionTransfer(TransferRequest(line: "line2", note: "across brokers")))
        _ = try await take.closure.value
        var transferRedirect: String?
        for _ in 0..<100 where transferRedirect == nil {
            let pull = brokerB.connect(hello: .take(token: tokens["bob"]!, .init(line: "line2")))
            if try await pull.closure.value.tandemCode == .otherBroker {
                transferRedirect = pull.messages.compactMap { if case .error(let e) = $0 { e.redirect } else { nil } }.first
            } else {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        #expect(transferRedirect == "https://127.0.0.1:\(a.port)")
        let again = brokerA.connect(hello: .take(token: tokens["bob"]!, .init(line: "line2")))
        let back = try await again.waitFor("the transfer assigned on A") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
        #expect(back.sessionID == assigned.sessionID)
        #expect(back.transferredFrom == "bob")
        try await again.send(.sessionEnd(SessionEnd(outcome: .resolved)))
        _ = try await customer.waitFor("session.ended") { if case .sessionEnded(let e) = $0 { e } else { nil } }
        let events = try await store.events(sessionID: assigned.sessionID)
        #expect(events.map(\.kind).contains(.transferAnswered))
        #expect(try await store.session(id: assigned.sessionID)?.endReason == .agentEnded)
    }
}

extension MultiBrokerFloorTests {
    @Test(
        "a customer waiting on A is offered to an available agent on B; a decline gives the claim back; accepting on B sends the agent to A, where it pairs"
    )
    func offersAcrossBrokers() async throws {
        let brokers = try await TwoBrokers.start(schema: "mo", logger: logger)
        defer { brokers.stop() }
        let (a, brokerA, brokerB, store) = (brokers.a, brokers.brokerA, brokers.brokerB, brokers.store)
        let token = APIToken.generate()
        _ = try await store.addUser(UserRecord(name: "bob", role: .agent, tokenHash: APIToken.hash(token), createdAt: Date()))

        let desk = brokerB.connect(hello: .presence(token: token, Presence(state: .available)))
        try await desk.waitFor("bob online on B") { if case .presenceStatus(let s) = $0 { s } else { nil } }
        let customer = brokerA.connect(hello: .queue(.init(ticket: "HD-MO1", tier: .basic)))
        let first = try await desk.waitFor("an offer of A's customer on B", seconds: 20) { if case .queueOffer(let o) = $0 { o } else { nil } }
        #expect(first.ticket == "HD-MO1")
        // Declined: the claim is given back; with nobody else, it comes again after the offer timeout.
        try await desk.send(.queueDecline(OfferReference(offerID: first.offerID)))
        let second = try await desk.waitFor("the offer again", seconds: 40) { message in
            if case .queueOffer(let o) = message, o.offerID != first.offerID { o } else { nil }
        }
        #expect(second.queueID == first.queueID)
        // Accepting at B sends bob to A with the same hello; A gives him the customer.
        let atB = brokerB.connect(hello: .take(token: token, .init(offer: second.offerID)))
        #expect(try await atB.closure.value.tandemCode == .otherBroker)
        let redirect = atB.messages.compactMap { if case .error(let e) = $0 { e.redirect } else { nil } }.first
        #expect(redirect == "https://127.0.0.1:\(a.port)")
        let atA = brokerA.connect(hello: .take(token: token, .init(offer: second.offerID)))
        let assigned = try await atA.waitFor("session.assigned on A") { if case .sessionAssigned(let a) = $0 { a } else { nil } }
        #expect(assigned.ticket == "HD-MO1")
        try await customer.waitFor("session.joined") { if case .sessionJoined(let j) = $0, j.agent == "bob" { j } else { nil } }
        let events = try await store.auditEvents(since: nil, until: nil, limit: 1000)
        #expect(events.filter { $0.kind == .queueOffered }.count == 2)
        #expect(events.first { $0.kind == .queueOfferRefused }?.detail["reason"] == "declined")
        #expect(events.contains { $0.kind == .queueAnswered && $0.actor == "bob" })
    }
}

/// A broker running as its own process, for tests that need several.
struct RemoteBroker: Sendable {
    let port: Int
    let caFile: String

    var configuration: TandemClientConfiguration { TandemClientConfiguration(serverURL: "https://127.0.0.1:\(port)", caFile: caFile) }

    func connect(hello: Hello) -> LiveParticipant { LiveParticipant.connect(configuration, hello: hello) }

    func api<T: Sendable>(_ token: String, _ body: (TandemAPIClient) async throws -> T) async throws -> T {
        try await withAPI(configuration, token, body)
    }
}

/// Two broker processes on one fresh PostgreSQL schema, one deployment: B serves A's
/// certificate and signs with A's audit key (§14).
struct TwoBrokers {
    let a: BrokerProcess
    let b: BrokerProcess
    let brokerA: RemoteBroker
    let brokerB: RemoteBroker
    /// The shared database, for adding users and reading the log.
    let store: PostgresStore
    let pool: Task<Void, any Error>

    static func start(schema: String, logger: Logger) async throws -> TwoBrokers {
        let base = try #require(ProcessInfo.processInfo.environment["TANDEM_TEST_POSTGRES_URL"])
        let url =
            base + (base.contains("?") ? "&" : "?") + "schema=\(schema)_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let root = NSTemporaryDirectory() + "tandem-\(schema)-\(UUID().uuidString)"
        let (dirA, dirB) = (root + "/a", root + "/b")
        try FileManager.default.createDirectory(atPath: dirB, withIntermediateDirectories: true)
        let a = try await BrokerProcess.start(directory: dirA, arguments: ["--database", url, "--broker-id", "broker-a"])
        for file in ["audit-signing.key", "audit-signing.pub.pem"] {
            try FileManager.default.copyItem(atPath: dirA + "/" + file, toPath: dirB + "/" + file)
        }
        let b: BrokerProcess
        do {
            b = try await BrokerProcess.start(
                directory: dirB,
                arguments: [
                    "--database", url, "--broker-id", "broker-b", "--cert", dirA + "/certs/server.pem", "--key", dirA + "/certs/server.key.pem",
                ]
            )
        } catch {
            await a.terminate()
            throw error
        }
        let ca = dirA + "/certs/ca.pem"
        let store = try PostgresStore(url: url, brokerID: "test", logger: logger)
        let pool = Task { try await store.run() }
        return TwoBrokers(
            a: a,
            b: b,
            brokerA: RemoteBroker(port: a.port, caFile: ca),
            brokerB: RemoteBroker(port: b.port, caFile: ca),
            store: store,
            pool: pool
        )
    }

    /// SIGTERM to both, without waiting (called from `defer`; each schema is the test's own).
    func stop() {
        b.signal(SIGTERM)
        a.signal(SIGTERM)
        pool.cancel()
    }
}
