import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TandemCore
import TandemProtocol
import TandemSQLite
import Testing

@testable import TandemServer

/// The API's answers at its edges (protocol/README.md §9): paths and methods no route takes,
/// HEAD, strict `since`/`until`, members without a value, and sessions this broker does not hold.
extension APIRouteTests {
    /// The message of an API error body ("" when there is none).
    static func message(_ response: TestResponse) -> String {
        (try? response.decode(APIErrorBody.self).error.message) ?? ""
    }

    /// Where `body` has a JSON `null`, as paths (`$.queue.medianWaitSeconds`).
    static func nullMembers(_ body: ByteBuffer) throws -> [String] {
        func walk(_ value: Any, _ path: String) -> [String] {
            if value is NSNull { return [path] }
            if let object = value as? [String: Any] { return object.keys.sorted().flatMap { walk(object[$0] ?? NSNull(), path + "." + $0) } }
            if let array = value as? [Any] { return array.indices.flatMap { walk(array[$0], path + "[\($0)]") } }
            return []
        }
        return walk(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)), "$")
    }

    /// The member names of a JSON object.
    static func members(_ body: ByteBuffer) throws -> Set<String> {
        let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] ?? [:]
        return Set(object.keys)
    }

    @Test("an unknown /v1 path is 404 not-found in JSON, with or without a token; other unknown paths keep the empty 404")
    func unknownAPIPaths() async throws {
        try await RouterHarness.run { api in
            for path in ["/v1", "/v1/", "/v1/nope", "/v1/users", "/v1/audit", "/v1/sessions/s_abcdefghijkmnpqr/end/now"] {
                for token in [api.ada, nil] as [String?] {
                    let response = try await api.request(.get, path, token: token)
                    expectAPIError(response, .notFound, "not-found")
                    #expect(Self.message(response).contains("no such API route"), "\(path): \(response.text)")
                }
            }
            for path in ["/", "/v2/audit/sessions", "/v1x"] {
                let response = try await api.get(path, token: api.ada)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.body.readableBytes == 0, "\(path): \(response.text)")
            }
            // A method a page does not take is not an API matter either.
            #expect(try await api.request(.post, "/healthz").status == .notFound)
        }
    }

    @Test("a /v1 route asked with a method it does not take: 405 method-not-allowed, Allow listing its methods, before any token check")
    func wrongMethods() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            let id = sessions.resolved
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.delete, "/v1/sessions/\(id)", "GET, HEAD"), (.put, "/v1/sessions/\(id)", "GET, HEAD"),
                (.get, "/v1/sessions/\(id)/end", "POST"), (.patch, "/v1/sessions/\(id)/end", "POST"),
                (.get, "/v1/sessions/\(id)/transfer", "POST"), (.post, "/v1/sessions/live", "GET, HEAD"),
                (.post, "/v1/queue", "GET, HEAD"), (.delete, "/v1/audit/sessions", "GET, HEAD"),
                (.get, "/v1/audit/prune", "POST"), (.put, "/v1/audit/prune", "POST"), (.head, "/v1/audit/prune", "POST"),
                (.get, "/v1/help-links", "POST"), (.delete, "/v1/console-tokens", "POST"), (.options, "/v1/audit/verify", "GET, HEAD"),
                (.post, "/v1/ws", "GET, HEAD"), (.post, "/v1/recordings/\(id)", "GET, HEAD"),
                (HTTPRequest.Method("QUERY")!, "/v1/audit/stats", "GET, HEAD"),
            ]
            for (method, path, allow) in cases {
                for token in [api.ada, nil] as [String?] {
                    let response = try await api.request(method, path, token: token, body: method == .head ? nil : "{}")
                    #expect(response.status == .methodNotAllowed, "\(method) \(path): \(response.status.code) \(response.text)")
                    #expect(response.headers[.allow] == allow, "\(method) \(path)")
                    if method != .head { expectAPIError(response, .methodNotAllowed, "method-not-allowed") }
                }
            }
            // Nothing was touched.
            #expect(try await api.store.session(id: id)?.outcome == .resolved)
            #expect(try await api.store.checkpoints().isEmpty)
        }
    }

    @Test("HEAD: a GET route's status and headers without a body, refusals included; no route, no body either")
    func headRequests() async throws {
        try await RouterHarness.run { api in
            _ = try await api.seedSessions()
            let gets: [(String, String?)] = [("/v1/audit/sessions", api.audrey), ("/v1/audit/stats", api.audrey), ("/healthz", nil), ("/agent", nil)]
            for (path, token) in gets {
                let get = try await api.get(path, token: token)
                let head = try await api.request(.head, path, token: token)
                #expect(head.status == .ok, "\(path)")
                #expect(head.body.readableBytes == 0, "\(path)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "\(path)")
                #expect(head.headers[.contentLength] == String(get.body.readableBytes), "\(path)")
            }
            #expect(try await api.request(.head, "/agent").headers[.contentSecurityPolicy] != nil)
            #expect(try await api.request(.head, "/web/js/protocol.js").status == .ok)

            let unauthorized = try await api.request(.head, "/v1/audit/sessions")
            #expect(unauthorized.status == .unauthorized)
            #expect(unauthorized.headers[.wwwAuthenticate] == #"Bearer realm="tandem""#)
            #expect(unauthorized.body.readableBytes == 0)
            let forbidden = try await api.request(.head, "/v1/audit/verify", token: api.alice)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.body.readableBytes == 0)
            let refusals: [(String, HTTPResponse.Status)] = [("/j/nonsense", .notFound), ("/v1/nope", .notFound), ("/v1/ws", .upgradeRequired)]
            for (path, status) in refusals {
                let response = try await api.request(.head, path)
                #expect(response.status == status, "\(path)")
                #expect(response.body.readableBytes == 0, "\(path)")
            }
        }
    }

    @Test("the WebSocket endpoints asked without an upgrade: 426 upgrade-required with Upgrade: websocket")
    func webSocketWithoutUpgrade() async throws {
        try await RouterHarness.run { api in
            for path in [TandemWire.webSocketPath, TandemWire.echoPath] {
                let response = try await api.get(path)
                expectAPIError(response, .upgradeRequired, "upgrade-required")
                #expect(response.headers[.upgrade] == "websocket")
                #expect(Self.message(response).contains("WebSocket upgrade"))
            }
        }
    }

    @Test("since and until: RFC 3339 times and dates only; partial, zoneless, impossible or padded values are 400 naming the parameter")
    func strictDates() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            let refused = [
                "", "yesterday", "2026", "2026-11", "2026-11-2", "20261122", "2026-11-22T10", "2026-11-22T10:00", "2026-11-22T10:00:00",
                "2026-11-22T10:00:00+0100", "2026-11-22T10:00:00+01", "2026-11-22T10:00:00.Z", "2026-11-22 10:00:00Z", "2026-11-22T10:00:00Zjunk",
                " 2026-11-22", "2026-11-22 ", "2026-02-30", "2023-02-29", "1900-02-29", "2026-13-01", "2026-00-10", "2026-11-22T24:00:00Z",
                "2026-11-22T10:60:00Z", "2026-11-22T10:00:00+24:00", "+2026-11-22", "２０２６-11-22",
                "0000-01-01", "9999-12-31T23:00:00-05:00",  // outside the years 0001-9999 in UTC
            ]
            func encoded(_ value: String) -> String { value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value }
            for value in refused {
                for parameter in ["since", "until"] {
                    let response = try await api.get("/v1/audit/sessions?\(parameter)=\(encoded(value))", token: api.audrey)
                    expectAPIError(response, .badRequest, "bad-request")
                    let message = Self.message(response)
                    #expect(message.hasPrefix("\(parameter) must be") && message.contains("RFC 3339"), "\(value): \(message)")
                }
            }
            // Every route with the session filters reads them alike.
            for path in ["/v1/audit/stats?since=", "/v1/audit/export?what=events&until=", "/v1/audit/export?what=sessions&since="] {
                expectAPIError(try await api.get(path + encoded("2026-11-22T10:00"), token: api.audrey), .badRequest, "bad-request")
            }

            // One instant written every way RFC 3339 allows selects the same sessions.
            func ids(_ since: String) async throws -> [String] {
                let response = try await api.get("/v1/audit/sessions?since=\(encoded(since))", token: api.audrey)
                #expect(response.status == .ok, "\(since): \(response.text)")
                return try response.decode(SessionList.self).sessions.map(\.id)
            }
            let instant = api.start.addingTimeInterval(43_200)
            let zulu = RouterHarness.time(instant)
            let spellings = [
                zulu, zulu.lowercased(), String(zulu.dropLast()) + ".000Z", String(zulu.dropLast()) + "+00:00",
                String(RouterHarness.time(instant.addingTimeInterval(3600)).dropLast()) + "+01:00",
                String(RouterHarness.time(instant.addingTimeInterval(-19_800)).dropLast()) + "-05:30",
            ]
            for spelling in spellings {
                #expect(try await ids(spelling) == [seeded.open, seeded.noOutcome], "\(spelling)")
            }
            for leapDay in ["2024-02-29", "2000-02-29"] {
                #expect(try await ids(leapDay).count == 3, "\(leapDay)")
            }
        }
    }

    @Test("QueryDate reads RFC 3339 exactly: dates at midnight UTC, offsets, fractions, either case; nothing else")
    func queryDateValues() {
        let values: [(String, TimeInterval)] = [
            ("1970-01-01T00:00:00Z", 0), ("2026-11-22", 1_795_305_600), ("2026-11-22T10:00:00Z", 1_795_341_600),
            ("2026-11-22T11:00:00+01:00", 1_795_341_600), ("2026-11-22T04:30:00-05:30", 1_795_341_600),
            ("2026-11-22t10:00:00.25z", 1_795_341_600.25), ("2024-02-29", 1_709_164_800),
            ("0001-01-01T00:00:00Z", -62_135_596_800), ("9999-12-31T23:59:59Z", 253_402_300_799),
        ]
        for (text, seconds) in values {
            #expect(QueryDate.parse(text)?.timeIntervalSince1970 == seconds, "\(text)")
        }
        let refused = [
            "2026-11-22T10:00:00", "2026-02-29", "2026-11-22T10:00Z", "2026-11-22Z", "2026-11-22T10:00:00+1:00",
            "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:60Z",
        ]
        for text in refused {
            #expect(QueryDate.parse(text) == nil, "\(text)")
        }
    }

    @Test("verify, stats and the queue leave out members without a value: never null (session records keep theirs)")
    func absentNotNull() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            let verify = try await api.get("/v1/audit/verify", token: api.audrey)
            #expect(verify.status == .ok)
            #expect(try Self.nullMembers(verify.body) == [])
            #expect(try Self.members(verify.body).isDisjoint(with: ["firstBadSeq", "lastCheckpointSeq", "lastCheckpointAt", "prunedThroughSeq"]))

            // Nothing in the period: no rates or medians; no since; the queue without its share and median.
            let empty = try await api.get("/v1/audit/stats?until=2000-01-01", token: api.audrey)
            #expect(empty.status == .ok)
            #expect(try Self.nullMembers(empty.body) == [])
            let members = try Self.members(empty.body)
            #expect(members.isDisjoint(with: ["since", "firstContactResolutionRate", "escalationRate", "medianWaitSeconds", "medianHandleSeconds"]))
            #expect(members.isSuperset(of: ["until", "queue", "sessions", "outcomes"]))
            let queue = try #require(try empty.decode(AuditStats.self).queue)
            #expect(queue.shareAnsweredWithinTarget == nil && queue.medianWaitSeconds == nil)
            #expect(!empty.text.contains("shareAnsweredWithinTarget"))

            // An agent's statistics have no queue member at all.
            let own = try await api.get("/v1/audit/stats", token: api.alice)
            #expect(try Self.nullMembers(own.body) == [])
            #expect(try !Self.members(own.body).contains("queue"))

            let listing = try await api.get("/v1/queue", token: api.alice)
            #expect(try Self.nullMembers(listing.body) == [])

            // The session record is the documented exception: every member, null when unknown.
            let open = try await api.get("/v1/sessions/\(seeded.open)", token: api.audrey)
            #expect(try Self.nullMembers(open.body).contains("$.endedAt"))
        }
    }

    @Test("ending or transferring a session open in the log but not live here: 409 saying so, never that an outcome is recorded")
    func sessionNotLiveHere() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            let end = try await api.request(.post, "/v1/sessions/\(seeded.open)/end", token: api.alice, body: #"{"outcome":"resolved"}"#)
            expectAPIError(end, .conflict, "conflict")
            #expect(Self.message(end).contains("has not ended, but it is not live on this broker"), "\(Self.message(end))")
            #expect(try await api.store.session(id: seeded.open)?.outcome == nil)

            let transfer = try await api.request(.post, "/v1/sessions/\(seeded.open)/transfer", token: api.alice, body: #"{"line":"line2"}"#)
            expectAPIError(transfer, .conflict, "conflict")
            #expect(Self.message(transfer).contains("not live on this broker"))

            // Ended: said so to whoever may read it; another agent learns nothing more than of an unknown id.
            let ended = try await api.request(.post, "/v1/sessions/\(seeded.noOutcome)/transfer", token: api.bob, body: #"{"line":"line2"}"#)
            #expect(Self.message(ended).contains("has ended"))
            let hidden = try await api.request(.post, "/v1/sessions/\(seeded.noOutcome)/transfer", token: api.alice, body: #"{"line":"line2"}"#)
            let unknown = "/v1/sessions/\(SessionID.generate())/transfer"
            let missing = try await api.request(.post, unknown, token: api.alice, body: #"{"line":"line2"}"#)
            #expect(Self.message(hidden) == "no live session \(seeded.noOutcome) on this broker")
            #expect(Self.message(missing).hasPrefix("no live session s_"))

            // An outcome already recorded is still what a second one is told.
            let again = try await api.request(.post, "/v1/sessions/\(seeded.resolved)/end", token: api.alice, body: #"{"outcome":"resolved"}"#)
            #expect(Self.message(again) == "the session has ended and its outcome is already recorded")
        }
    }

    @Test("with a log several brokers share (§14), ending or transferring a session another broker holds: 409 naming that")
    func sessionOnAnotherBroker() async throws {
        let directory = NSTemporaryDirectory() + "tandem-router-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logger = RouterHarness.makeLogger()
        let sqlite = try SQLiteStore(path: directory + "/tandem.sqlite", logger: logger)
        let token = APIToken.generate()
        _ = try await sqlite.addUser(
            UserRecord(name: "alice", role: .agent, tokenHash: APIToken.hash(token), createdAt: Date().addingTimeInterval(-60))
        )
        var configuration = BrokerConfiguration()
        configuration.dataDirectory = directory
        configuration.port = 0
        configuration.transportSecurity = .insecurePlaintext
        let app = try await TandemBroker(configuration: configuration, store: SharedLogStore(base: sqlite), logger: logger).buildApplication()
        try await app.test(.router) { client in
            // Opened after start-up (which closes this broker's leftovers), by no session of this broker.
            let id = SessionID.generate()
            let now = Date()
            try await sqlite.insertSession(
                SessionRecord(id: id, ticket: "HD-9", agent: "alice", mode: .screen, createdAt: now, expiresAt: now.addingTimeInterval(600))
            )
            let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
            for (action, body) in [("end", #"{"outcome":"resolved"}"#), ("transfer", #"{"line":"line2"}"#)] {
                let response = try await client.executeRequest(
                    uri: "/v1/sessions/\(id)/\(action)",
                    method: .post,
                    headers: headers,
                    body: ByteBuffer(string: body)
                )
                expectAPIError(response, .conflict, "conflict")
                #expect(
                    Self.message(response).contains("is live on another broker of this deployment (\(SharedLogStore.otherBroker))"),
                    "\(action): \(Self.message(response))"
                )
                #expect(Self.message(response).contains("\(action) it through that broker's API"), "\(action)")
            }
            #expect(try await sqlite.session(id: id)?.isEnded == false)
        }
    }
}
