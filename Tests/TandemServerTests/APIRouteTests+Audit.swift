import Foundation
import HummingbirdTesting
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// The auditors' routes, `/v1/audit/...` (protocol/README.md §9, §11).
extension APIRouteTests {
    @Test("GET /v1/audit/sessions: newest first; ticket, agent, outcome, since, until and limit filters; agents see their own")
    func auditSessions() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            func ids(_ query: String, token: String) async throws -> [String] {
                let response = try await api.get("/v1/audit/sessions" + query, token: token)
                #expect(response.status == .ok, "\(query): \(response.text)")
                return try response.decode(SessionList.self).sessions.map(\.id)
            }
            let all = [seeded.open, seeded.noOutcome, seeded.resolved]
            #expect(try await ids("", token: api.audrey) == all)
            #expect(try await ids("", token: api.ada) == all)
            #expect(try await ids("?ticket=HD-2", token: api.audrey) == [seeded.noOutcome])
            #expect(try await ids("?agent=alice", token: api.audrey) == [seeded.open, seeded.resolved])
            #expect(try await ids("?outcome=resolved", token: api.audrey) == [seeded.resolved])
            #expect(try await ids("?limit=1", token: api.audrey) == [seeded.open])
            let since = RouterHarness.time(api.start.addingTimeInterval(43_200))
            let until = RouterHarness.time(api.start.addingTimeInterval(36 * 3600))
            #expect(try await ids("?since=\(since)", token: api.audrey) == [seeded.open, seeded.noOutcome])
            #expect(try await ids("?since=\(since)&until=\(until)", token: api.audrey) == [seeded.noOutcome])
            // A date alone is midnight UTC: the day after the first session starts after it.
            let nextDay = String(RouterHarness.time(api.start.addingTimeInterval(86_400)).prefix(10))
            #expect(try await ids("?since=\(nextDay)", token: api.audrey) == [seeded.open, seeded.noOutcome])

            // Agents get their own sessions, and may not ask for another agent's.
            #expect(try await ids("", token: api.alice) == [seeded.open, seeded.resolved])
            #expect(try await ids("?agent=alice", token: api.alice) == [seeded.open, seeded.resolved])
            #expect(try await ids("", token: api.bob) == [seeded.noOutcome])
            expectAPIError(try await api.get("/v1/audit/sessions?agent=bob", token: api.alice), .forbidden, "forbidden")

            for query in ["?limit=0", "?limit=10001", "?limit=ten", "?outcome=fixed", "?since=yesterday"] {
                expectAPIError(try await api.get("/v1/audit/sessions" + query, token: api.audrey), .badRequest, "bad-request")
            }
        }
    }

    @Test("GET /v1/audit/sessions/{id}/events is the session's timeline; GET /v1/audit/stats sums up the period")
    func timelineAndStats() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            let path = "/v1/audit/sessions/\(seeded.resolved)/events"
            for token in [api.audrey, api.alice] {
                let response = try await api.get(path, token: token)
                #expect(response.status == .ok)
                let timeline = try response.decode(AuditTimeline.self)
                #expect(timeline.session.id == seeded.resolved)
                #expect(timeline.events.map(\.kind) == [.sessionCreated, .customerJoined, .sessionEnded])
                #expect(timeline.events.map(\.actor) == ["alice", "customer", "alice"])
                #expect(timeline.events.allSatisfy { $0.sessionID == seeded.resolved })
            }
            expectAPIError(try await api.get(path, token: api.bob), .notFound, "not-found")

            let all = try await api.get("/v1/audit/stats", token: api.audrey)
            #expect(all.status == .ok)
            let stats = try all.decode(AuditStats.self)
            #expect(stats.sessions == 3)
            #expect(stats.live == 1)
            #expect(stats.tickets == 3)
            #expect(stats.answered == 1)
            #expect(stats.unanswered == 1)
            #expect(stats.outcomes == ["resolved": 1, "not-recorded": 1])
            #expect(stats.endReasons == ["agent-ended": 1, "customer-left": 1])
            #expect(stats.medianWaitSeconds == 42)
            #expect(stats.queue != nil)

            let own = try await api.get("/v1/audit/stats", token: api.alice).decode(AuditStats.self)
            #expect(own.sessions == 2)
            #expect(own.live == 1)
            #expect(own.queue == nil)
            let since = RouterHarness.time(api.start.addingTimeInterval(43_200))
            #expect(try await api.get("/v1/audit/stats?since=\(since)", token: api.audrey).decode(AuditStats.self).sessions == 2)
            expectAPIError(try await api.get("/v1/audit/stats?agent=bob", token: api.alice), .forbidden, "forbidden")
        }
    }

    @Test("GET /v1/audit/export as CSV: RFC 4180 with CRLF, oldest first, formula cells neutralised; agents export their own sessions only")
    func exportCSV() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            let time = RouterHarness.time
            let start = api.start
            let secondDay = start.addingTimeInterval(86_400)
            let thirdDay = start.addingTimeInterval(2 * 86_400)

            let response = try await api.get("/v1/audit/export?what=sessions&format=csv", token: api.audrey)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(response.text.hasSuffix("\r\n"))
            let header: [String] = [
                "id", "ticket", "agent", "mode", "created_at", "customer_joined_at", "ended_at", "wait_seconds", "connected_seconds",
                "duration_seconds", "outcome", "end_reason", "ended_by", "note", "customer_client", "customer_address",
                "frames_to_agent", "bytes_to_agent", "frames_to_customer", "bytes_to_customer", "chat_messages", "annotations", "freezes",
                "survey_solved", "survey_score", "survey_nps", "survey_comment",
            ]
            // No survey answers in this log: the four survey columns are empty.
            let noCounts: [String] = Array(repeating: "0", count: 7) + Array(repeating: "", count: 4)
            let resolvedRow: [String] = [
                seeded.resolved, "HD-1", "alice", "screen", time(start), time(start.addingTimeInterval(42)), time(start.addingTimeInterval(300)),
                "42.0", "258.0", "300.0", "resolved", "agent-ended", "alice", "\"'=SUM(A1:A2)\"", "tandem-swift/0.1", "198.51.100.4",
                "90", "18000000", "1", "1024", "0", "0", "0", "", "", "", "",
            ]
            var noOutcomeRow: [String] = [
                seeded.noOutcome, "HD-2", "bob", "camera", time(secondDay), "", time(secondDay.addingTimeInterval(120)),
                "120.0", "", "120.0", "", "customer-left", "customer", "", "", "",
            ]
            noOutcomeRow.append(contentsOf: noCounts)
            var openRow: [String] = [seeded.open, "HD-3", "alice", "screen", time(thirdDay)]
            openRow.append(contentsOf: Array(repeating: "", count: 11))
            openRow.append(contentsOf: noCounts)
            let expected: [String] = [header, resolvedRow, noOutcomeRow, openRow].map { $0.joined(separator: ",") }
            #expect(Array(response.text.components(separatedBy: "\r\n").dropLast()) == expected)

            let own = try await api.get("/v1/audit/export?what=sessions&format=csv", token: api.alice).text.components(separatedBy: "\r\n")
            #expect(own.count == 4)  // header, two sessions, and the empty rest after the last CRLF
            #expect(own[1].hasPrefix(seeded.resolved + ","))
            #expect(own[2].hasPrefix(seeded.open + ","))

            let events = try await api.get("/v1/audit/export?what=events&format=csv", token: api.audrey)
            #expect(events.status == .ok)
            let rows = events.text.components(separatedBy: "\r\n").dropLast()
            #expect(rows.first == "seq,at,session_id,kind,actor,detail,previous_hash,hash")
            #expect(rows.count == 13)
            let first = rows.dropFirst().first ?? ""
            #expect(first.hasPrefix("1,\(time(start.addingTimeInterval(-86_400))),,user.added,,"))
            #expect(first.contains(#""{""role"":""agent"",""user"":""alice""}""#))
            #expect(first.contains("," + AuditChain.genesis + ","))

            expectAPIError(try await api.get("/v1/audit/export?what=events&format=csv", token: api.alice), .forbidden, "forbidden")
            expectAPIError(try await api.get("/v1/audit/export?format=xml", token: api.audrey), .badRequest, "bad-request")
            expectAPIError(try await api.get("/v1/audit/export?what=users", token: api.audrey), .badRequest, "bad-request")
        }
    }

    @Test("GET /v1/audit/export as JSON lines: values unchanged, and the events' hash chain recomputes from the export alone")
    func exportJSONLines() async throws {
        try await RouterHarness.run { api in
            let seeded = try await api.seedSessions()
            // JSON lines and sessions are the defaults.
            let response = try await api.get("/v1/audit/export", token: api.audrey)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/x-ndjson")
            let sessions = try response.text.split(separator: "\n").map {
                try TandemJSON.makeDecoder().decode(SessionRecord.self, from: Data($0.utf8))
            }
            #expect(sessions.map(\.id) == [seeded.resolved, seeded.noOutcome, seeded.open])
            #expect(sessions.first?.note == RouterHarness.formulaNote)

            let eventLines = try await api.get("/v1/audit/export?what=events&format=jsonl", token: api.ada)
            #expect(eventLines.headers[.contentType] == "application/x-ndjson")
            let events = try eventLines.text.split(separator: "\n").map {
                try TandemJSON.makeDecoder().decode(AuditEvent.self, from: Data($0.utf8))
            }
            #expect(events.map(\.seq) == Array(Int64(1)...Int64(12)))
            let userEvents: [AuditEventKind] = [.userAdded, .userAdded, .userAdded, .userAdded, .userAdded, .userRevoked]
            #expect(Array(events.prefix(6).map(\.kind)) == userEvents)
            #expect(events.allSatisfy { AuditChain.hash(of: $0) == $0.hash })
            #expect(events.first?.previousHash == AuditChain.genesis)
            #expect(zip(events, events.dropFirst()).allSatisfy { $0.hash == $1.previousHash })
        }
    }

    @Test("GET /v1/audit/verify, /checkpoints (auditors, admins) and /public-key (any user) answer with the broker's key")
    func verifyAndKeys() async throws {
        try await RouterHarness.run { api in
            _ = try await api.seedSessions()
            let key = try AuditSigningKey.loadOrCreate(directory: api.directory, logger: api.logger)
            for token in [api.audrey, api.ada] {
                let response = try await api.get("/v1/audit/verify", token: token)
                #expect(response.status == .ok)
                let report = try response.decode(AuditVerification.self)
                #expect(report.status == .intact)
                #expect(report.count == 12)
                #expect(report.checkpoints == 0)
                #expect(report.unsignedEvents == 12)
                #expect(report.publicKeyFingerprint == key.publicKey.fingerprint)
            }
            expectAPIError(try await api.get("/v1/audit/verify", token: api.alice), .forbidden, "forbidden")

            let checkpoints = try await api.get("/v1/audit/checkpoints", token: api.audrey)
            #expect(checkpoints.status == .ok)
            let list = try checkpoints.decode(AuditCheckpointList.self)
            #expect(list.publicKey == key.publicKey)
            #expect(list.checkpoints.isEmpty)
            expectAPIError(try await api.get("/v1/audit/checkpoints", token: api.bob), .forbidden, "forbidden")

            for token in [api.alice, api.audrey, api.ada] {
                let publicKey = try await api.get("/v1/audit/public-key", token: token)
                #expect(publicKey.status == .ok)
                #expect(try publicKey.decode(AuditPublicKey.self) == key.publicKey)
            }
            #expect(key.publicKey.algorithm == "ed25519")
            #expect(key.publicKey.fingerprint.hasPrefix("SHA256:"))
        }
    }

    @Test("POST /v1/audit/prune: admins only, never the future; removes the prefix under a signed checkpoint that verify then starts from")
    func prune() async throws {
        try await RouterHarness.run { api in
            _ = try await api.seedSessions()
            // The six user events come before the first session.
            let body = #"{"before":"\#(RouterHarness.time(api.start.addingTimeInterval(-3600)))"}"#
            expectAPIError(try await api.request(.post, "/v1/audit/prune", token: api.audrey, body: body), .forbidden, "forbidden")
            expectAPIError(try await api.request(.post, "/v1/audit/prune", token: api.alice, body: body), .forbidden, "forbidden")
            let future = #"{"before":"\#(RouterHarness.time(Date().addingTimeInterval(3600)))"}"#
            expectAPIError(try await api.request(.post, "/v1/audit/prune", token: api.ada, body: future), .badRequest, "bad-request")
            for bad in ["{}", #"{"before":"last week"}"#, "not json"] {
                expectAPIError(try await api.request(.post, "/v1/audit/prune", token: api.ada, body: bad), .badRequest, "bad-request")
            }
            #expect(try await api.store.checkpoints().isEmpty)

            let response = try await api.request(.post, "/v1/audit/prune", token: api.ada, body: body)
            #expect(response.status == .ok)
            let result = try response.decode(PruneResult.self)
            #expect(result.removedEvents == 6)
            #expect(result.prunedThroughSeq == 6)
            let checkpoint = try #require(result.checkpoint)
            #expect(checkpoint.kind == .prune)
            #expect(checkpoint.actor == "ada")
            #expect(checkpoint.seq == 12)
            // Kept outside the database too (§11.7).
            #expect(try AuditHeadFile(directory: api.directory).load() == checkpoint)

            let report = try await api.get("/v1/audit/verify", token: api.audrey).decode(AuditVerification.self)
            #expect(report.status == .intact)
            #expect(report.prunedThroughSeq == 6)
            #expect(report.count == 7)  // events 7-12 and audit.pruned
            #expect(report.checkpoints == 1)
            let list = try await api.get("/v1/audit/checkpoints", token: api.audrey).decode(AuditCheckpointList.self)
            #expect(list.checkpoints == [checkpoint])
        }
    }
}
