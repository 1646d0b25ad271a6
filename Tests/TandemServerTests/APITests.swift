import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOSSL
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@Suite("Live TLS broker: HTTPS API and roles", .timeLimit(.minutes(2)))
struct APITests {
    let logger = Logger(label: "tandem.test.client")

    /// Opens a session as `token`; returns its id and the task that yields its ending.
    func openSession(_ broker: LiveBroker, token: String, ticket: String) async throws -> (String, Task<SessionEnded?, any Error>) {
        let agent = try await broker.startWaitingAgent(token: token, ticket: ticket)
        return (agent.created.sessionID, Task { try await agent.ending.value.0 })
    }

    func status(_ broker: LiveBroker, _ method: String, _ path: String, token: String?, body: String? = nil) async throws -> Int {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.file(broker.caFile)]
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        var request = HTTPClientRequest(url: "https://localhost:\(broker.port)\(path)")
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return Int(response.status.code)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test("ending a live session through the API tells both sides and logs outcome and note")
    func endViaAPI() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let (id, agent) = try await openSession(broker, token: alice, ticket: "HD-42")
            let api = try TandemAPIClient(configuration: broker.clientConfiguration, token: alice)
            let record = try await api.endSession(id: id, outcome: .escalated, note: "needs line 2")
            #expect(record.endReason == .endedViaAPI)
            #expect(record.outcome == .escalated)
            #expect(record.note == "needs line 2")
            #expect(try await agent.value == SessionEnded(sessionID: id, reason: .endedViaAPI, outcome: .escalated))
            #expect(try await api.session(id: id).outcome == .escalated)
            try await api.shutdown()
        }
    }

    @Test("auditors read every session, agents only their own; nobody else ends a session")
    func roles() async throws {
        try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            let bob = try await broker.addUser("bob", role: .agent)
            let audrey = try await broker.addUser("audrey", role: .auditor)
            let (aliceSession, aliceAgent) = try await openSession(broker, token: alice, ticket: "HD-1")
            let (bobSession, bobAgent) = try await openSession(broker, token: bob, ticket: "HD-2")

            let auditorAPI = try TandemAPIClient(configuration: broker.clientConfiguration, token: audrey)
            #expect(Set(try await auditorAPI.sessions().map(\.id)) == [aliceSession, bobSession])
            #expect(try await auditorAPI.sessions(ticket: "HD-2").map(\.id) == [bobSession])
            #expect(try await auditorAPI.session(id: aliceSession).agent == "alice")
            try await auditorAPI.shutdown()

            let aliceAPI = try TandemAPIClient(configuration: broker.clientConfiguration, token: alice)
            #expect(try await aliceAPI.sessions().map(\.id) == [aliceSession])
            try await aliceAPI.shutdown()

            #expect(try await status(broker, "GET", "/v1/audit/sessions?agent=bob", token: alice) == 403)
            #expect(try await status(broker, "GET", "/v1/sessions/\(bobSession)", token: alice) == 404)
            #expect(try await status(broker, "POST", "/v1/sessions/\(bobSession)/end", token: alice, body: #"{"outcome":"resolved"}"#) == 404)
            #expect(try await status(broker, "POST", "/v1/sessions/\(bobSession)/end", token: audrey, body: #"{"outcome":"resolved"}"#) == 403)
            #expect(try await status(broker, "POST", "/v1/sessions/\(bobSession)/end", token: bob, body: #"{"outcome":"fixed"}"#) == 400)
            #expect(try await status(broker, "POST", "/v1/sessions/\(bobSession)/end", token: bob, body: "not json") == 400)
            #expect(try await status(broker, "GET", "/v1/audit/sessions", token: nil) == 401)
            #expect(try await status(broker, "GET", "/v1/audit/sessions", token: "tdm_" + String(repeating: "q", count: 43)) == 401)
            #expect(try await status(broker, "GET", "/v1/audit/sessions?limit=0", token: audrey) == 400)
            #expect(try await status(broker, "GET", "/v1/sessions/s_unknownunknown12", token: audrey) == 404)
            #expect(try await status(broker, "GET", "/healthz", token: nil) == 200)
            #expect(try await status(broker, "GET", "/j/482-913-557-301", token: nil) == 200)
            #expect(try await status(broker, "GET", "/j/nonsense", token: nil) == 404)

            // Nothing above touched the two live sessions.
            #expect(try await broker.store.session(id: bobSession)?.isEnded == false)
            let bobAPI = try TandemAPIClient(configuration: broker.clientConfiguration, token: bob)
            _ = try await bobAPI.endSession(id: bobSession, outcome: .resolved, note: nil)
            try await bobAPI.shutdown()
            let aliceEnd = try TandemAPIClient(configuration: broker.clientConfiguration, token: alice)
            _ = try await aliceEnd.endSession(id: aliceSession, outcome: .abandoned, note: nil)
            try await aliceEnd.shutdown()
            #expect(try await bobAgent.value?.reason == .endedViaAPI)
            #expect(try await aliceAgent.value?.outcome == .abandoned)
        }
    }

    @Test("graceful shutdown ends live sessions with broker-shutdown and close 1001")
    func gracefulShutdown() async throws {
        let (agent, store) = try await LiveBroker.run { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            return (try await broker.startWaitingAgent(token: alice, ticket: "HD-3"), broker.store)
        }
        let (ended, closure) = try await agent.ending.value
        let code = closure.code
        #expect(ended?.reason == .brokerShutdown)
        #expect(code == 1001)
        let record = try #require(try await store.sessions(matching: SessionFilter()).first)
        #expect(record.endReason == .brokerShutdown)
    }
}
