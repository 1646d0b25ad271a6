import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// The HTTPS API of protocol/README.md §9, route by route, on the application of
/// `TandemBroker.buildApplication()` through HummingbirdTesting's `.router` framework: no
/// sockets, no TLS, a real SQLite store. Statuses and error codes as documented there.
/// (The live TLS tests of the relay and the API are in `APITests`, `LimitsTests` and others.)
@Suite("HTTP API routes through HummingbirdTesting", .timeLimit(.minutes(1)))
struct APIRouteTests {
    @Test("every API route answers 401 unauthorized without a valid token, before reading the body")
    func unauthenticated() async throws {
        try await RouterHarness.run { api in
            let id = SessionID.generate()
            let routes: [(HTTPRequest.Method, String)] = [
                (.get, "/v1/sessions/\(id)"), (.post, "/v1/sessions/\(id)/end"), (.post, "/v1/sessions/\(id)/transfer"),
                (.get, "/v1/recordings/\(id)"), (.get, "/v1/sessions/live"), (.get, "/v1/queue"),
                (.get, "/v1/audit/sessions"), (.get, "/v1/audit/sessions/\(id)/events"), (.get, "/v1/audit/verify"),
                (.get, "/v1/audit/stats"), (.get, "/v1/audit/export?what=events&format=csv"), (.get, "/v1/audit/checkpoints"),
                (.get, "/v1/audit/public-key"), (.post, "/v1/audit/prune"), (.post, "/v1/help-links"), (.post, "/v1/console-tokens"),
            ]
            for (method, path) in routes {
                let response = try await api.request(method, path, body: method == .post ? "{}" : nil)
                expectAPIError(response, .unauthorized, "unauthorized")
            }

            // Tokens that are unknown, malformed, revoked, or not sent as a bearer token.
            let unknown = APIToken.prefix + String(repeating: "q", count: 43)
            for token in [unknown, "nonsense", "", api.rex] {
                expectAPIError(try await api.get("/v1/audit/sessions", token: token), .unauthorized, "unauthorized")
            }
            let basic = try await api.client.executeRequest(
                uri: "/v1/audit/sessions",
                method: .get,
                headers: [.authorization: "Basic YWxpY2U6c2VjcmV0"],
                body: nil
            )
            expectAPIError(basic, .unauthorized, "unauthorized")
            let bare = try await api.client.executeRequest(uri: "/v1/audit/sessions", method: .get, headers: [.authorization: api.audrey], body: nil)
            expectAPIError(bare, .unauthorized, "unauthorized")

            // The token is checked before the body is read: a body over any limit still gets 401.
            let big = String(repeating: "x", count: 1 << 20)
            expectAPIError(try await api.request(.post, "/v1/help-links", body: big), .unauthorized, "unauthorized")

            // A 401 names the scheme (RFC 9110 §11.6.1), and the scheme's case does not matter.
            #expect(basic.headers[.wwwAuthenticate] == #"Bearer realm="tandem""#)
            for scheme in ["bearer", "BEARER"] {
                let response = try await api.client.executeRequest(
                    uri: "/v1/audit/sessions",
                    method: .get,
                    headers: [.authorization: "\(scheme) \(api.audrey)"],
                    body: nil
                )
                #expect(response.status == .ok, "\(scheme)")
            }

            // The same requests with a valid token pass authentication.
            #expect(try await api.get("/v1/audit/sessions", token: api.audrey).status == .ok)
        }
    }

    @Test("GET /v1/sessions/{id}: auditors, admins and its agent read it; another agent gets the 404 of a missing session")
    func readSession() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            let path = "/v1/sessions/\(sessions.resolved)"
            for token in [api.audrey, api.ada, api.alice] {
                let response = try await api.get(path, token: token)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let record = try response.decode(SessionRecord.self)
                #expect(record.id == sessions.resolved)
                #expect(record.agent == "alice")
                #expect(record.ticket == "HD-1")
                #expect(record.outcome == .resolved)
                #expect(record.endReason == .agentEnded)
                #expect(record.endedBy == "alice")
                #expect(record.note == RouterHarness.formulaNote)
                #expect(record.customerClient == "tandem-swift/0.1")
                #expect(record.customerAddress == "198.51.100.4")
                #expect(record.waitSeconds == 42)
                #expect(record.durationSeconds == 300)
                #expect(record.traffic.customerToAgent == TrafficCounters(frames: 90, bytes: 18_000_000))
            }
            // The wire form carries the derived members of §9.
            let raw = try await api.get(path, token: api.audrey).text
            for member in ["waitSeconds", "connectedSeconds", "durationSeconds", "agentToCustomer", "customerToAgent"] {
                #expect(raw.contains("\"\(member)\":"), "\(member) missing from \(raw)")
            }

            // bob learns nothing about alice's session, not even that it exists.
            let hidden = try await api.get(path, token: api.bob)
            expectAPIError(hidden, .notFound, "not-found")
            let missing = try await api.get("/v1/sessions/\(SessionID.generate())", token: api.bob)
            expectAPIError(missing, .notFound, "not-found")
            #expect(hidden.text == missing.text)
            expectAPIError(try await api.get("/v1/sessions/not-a-session-id", token: api.audrey), .notFound, "not-found")
        }
    }

    @Test("POST /v1/sessions/{id}/end records a missing outcome once, then 409; 403, 404 and 400 as documented")
    func endSession() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            let path = "/v1/sessions/\(sessions.noOutcome)/end"
            expectAPIError(try await api.request(.post, path, token: api.audrey, body: #"{"outcome":"resolved"}"#), .forbidden, "forbidden")
            expectAPIError(try await api.request(.post, path, token: api.alice, body: #"{"outcome":"resolved"}"#), .notFound, "not-found")
            expectAPIError(try await api.request(.post, path, token: api.bob, body: #"{"outcome":"fixed"}"#), .badRequest, "bad-request")
            expectAPIError(try await api.request(.post, path, token: api.bob, body: "not json"), .badRequest, "bad-request")
            let longNote = String(repeating: "n", count: SessionEnd.maxNoteLength + 1)
            let tooLong = try await api.request(.post, path, token: api.bob, body: #"{"outcome":"resolved","note":"\#(longNote)"}"#)
            expectAPIError(tooLong, .badRequest, "bad-request")
            // None of that touched the session.
            #expect(try await api.store.session(id: sessions.noOutcome)?.outcome == nil)

            let recorded = try await api.request(.post, path, token: api.bob, body: #"{"outcome":"escalated","note":"needs line 2"}"#)
            #expect(recorded.status == .ok)
            let record = try recorded.decode(SessionRecord.self)
            #expect(record.outcome == .escalated)
            #expect(record.note == "needs line 2")
            #expect(record.endReason == .customerLeft)
            let events = try await api.store.events(sessionID: sessions.noOutcome)
            #expect(events.last?.kind == .outcomeRecorded)
            #expect(events.last?.detail["outcome"] == "escalated")

            // An outcome is recorded once; an admin cannot overwrite one either.
            expectAPIError(try await api.request(.post, path, token: api.bob, body: #"{"outcome":"resolved"}"#), .conflict, "conflict")
            let resolved = "/v1/sessions/\(sessions.resolved)/end"
            expectAPIError(try await api.request(.post, resolved, token: api.ada, body: #"{"outcome":"unresolved"}"#), .conflict, "conflict")
            #expect(try await api.store.session(id: sessions.resolved)?.outcome == .resolved)
        }
    }

    @Test("transfer and recordings of sessions not live here: 409 conflict, 404 not-found, 403 for roles that cannot")
    func transferAndRecordings() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            let transfer = "/v1/sessions/\(sessions.open)/transfer"
            expectAPIError(try await api.request(.post, transfer, token: api.alice, body: #"{"line":"line2"}"#), .conflict, "conflict")
            expectAPIError(try await api.request(.post, transfer, token: api.audrey, body: #"{"line":"line2"}"#), .forbidden, "forbidden")
            expectAPIError(try await api.request(.post, transfer, token: api.alice, body: "[]"), .badRequest, "bad-request")

            // Ended and never recorded; open (still recording, if it were); another agent's.
            expectAPIError(try await api.get("/v1/recordings/\(sessions.resolved)", token: api.audrey), .notFound, "not-found")
            expectAPIError(try await api.get("/v1/recordings/\(sessions.open)", token: api.alice), .conflict, "conflict")
            expectAPIError(try await api.get("/v1/recordings/\(sessions.resolved)", token: api.bob), .notFound, "not-found")
        }
    }

    @Test("GET /v1/queue is for agents and admins, GET /v1/sessions/live for admins; both empty on an idle broker")
    func queueAndLiveSessions() async throws {
        try await RouterHarness.run { api in
            for token in [api.alice, api.ada] {
                let queue = try await api.get("/v1/queue", token: token)
                #expect(queue.status == .ok)
                #expect(try queue.decode(QueueListing.self).entries.isEmpty)
            }
            expectAPIError(try await api.get("/v1/queue", token: api.audrey), .forbidden, "forbidden")

            let live = try await api.get("/v1/sessions/live", token: api.ada)
            #expect(live.status == .ok)
            #expect(try live.decode(LiveSessionList.self).sessions.isEmpty)
            for token in [api.alice, api.audrey] {
                expectAPIError(try await api.get("/v1/sessions/live", token: token), .forbidden, "forbidden")
            }
        }
    }

    @Test("building the application holds the data directory's lock: a second broker on it is refused and touches nothing")
    func lockHeldByApplication() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            let second = TandemBroker(configuration: api.configuration, store: api.store, logger: api.logger)
            do {
                _ = try await second.buildApplication()
                Issue.record("a second application was built on a locked data directory")
            } catch {
                #expect("\(error)".contains("another broker"))
            }
            // The second broker did not close the open session as broker-crash.
            #expect(try await api.store.session(id: sessions.open)?.isEnded == false)
            #expect(try await api.get("/healthz").status == .ok)
        }
    }
}
