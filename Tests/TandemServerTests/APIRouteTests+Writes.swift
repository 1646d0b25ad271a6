import Foundation
import HummingbirdTesting
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// What agents and admins ask the broker to make (help links, console sign-ins), and the
/// request body limits of the routes that read one.
extension APIRouteTests {
    @Test(
        "POST /v1/help-links: a link signed with the broker's key for agents and admins; line1 and 24 h by default; 400 for bad values, 403 for auditors"
    )
    func helpLinks() async throws {
        try await RouterHarness.run { api in
            let key = try AuditSigningKey.loadOrCreate(directory: api.directory, logger: api.logger)
            let signer = HelpLinkSigner(deriving: key.signer)
            let body = #"{"ticket":"HD-1042","tier":"premium","line":"line2","expiresInSeconds":3600}"#
            let response = try await api.request(.post, "/v1/help-links", token: api.alice, body: body)
            #expect(response.status == .ok)
            let grant = try response.decode(HelpLinkGrant.self)
            #expect(grant.ticket == "HD-1042")
            #expect(grant.tier == .premium)
            #expect(grant.line == "line2")
            #expect(abs(grant.expiresAt.timeIntervalSinceNow - 3600) < 10)
            // The URL is the broker's address (known once it listens; empty here) + /help?…
            #expect(grant.url.contains("/help?ticket=HD-1042&tier=premium&line=line2&expires="))
            let items = try #require(URLComponents(string: grant.url)?.queryItems)
            let query = Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
            let expires = try #require(query["expires"].flatMap { Int($0) })
            #expect(expires == Int(grant.expiresAt.timeIntervalSince1970))
            let signature = query["sig"] ?? ""
            #expect(
                signer.verify(HelpLink(ticket: "HD-1042", tier: .premium, line: "line2", expires: expires), signature: signature, now: Date())
                    == .valid
            )
            // The signature covers the tier: the same link as basic does not verify.
            #expect(
                signer.verify(HelpLink(ticket: "HD-1042", tier: .basic, line: "line2", expires: expires), signature: signature, now: Date())
                    == .invalid
            )

            let defaults = try await api.request(.post, "/v1/help-links", token: api.ada, body: #"{"ticket":"HD-7","tier":"basic"}"#)
            #expect(defaults.status == .ok)
            let defaultGrant = try defaults.decode(HelpLinkGrant.self)
            #expect(defaultGrant.line == "line1")
            #expect(abs(defaultGrant.expiresAt.timeIntervalSinceNow - 86_400) < 10)

            let invalid = [
                #"{"ticket":"HD 1042","tier":"basic"}"#, #"{"ticket":"","tier":"basic"}"#,
                #"{"ticket":"HD-1","tier":"basic","line":"Line 2"}"#, #"{"ticket":"HD-1","tier":"gold"}"#,
                #"{"ticket":"HD-1","tier":"basic","expiresInSeconds":0}"#, #"{"ticket":"HD-1","tier":"basic","expiresInSeconds":604801}"#,
                "{}", "not json",
            ]
            for bad in invalid {
                let refused = try await api.request(.post, "/v1/help-links", token: api.alice, body: bad)
                expectAPIError(refused, .badRequest, "bad-request")
            }
            expectAPIError(try await api.request(.post, "/v1/help-links", token: api.audrey, body: body), .forbidden, "forbidden")
        }
    }

    @Test(
        "POST /v1/console-tokens: a 15-minute tdc_ sign-in (/agent link; /audit for auditors) that reads the API (GET, HEAD) and writes nothing"
    )
    func consoleTokens() async throws {
        try await RouterHarness.run { api in
            var issued: [String] = []
            for (token, page) in [(api.alice, "/agent"), (api.ada, "/agent"), (api.audrey, "/audit")] {
                let response = try await api.request(.post, "/v1/console-tokens", token: token)
                #expect(response.status == .ok)
                let grant = try response.decode(ConsoleTokenGrant.self)
                #expect(grant.token.hasPrefix("tdc_"))
                #expect(grant.url.hasSuffix(page + "#token=" + grant.token), "\(grant.url)")
                #expect(abs(grant.expiresAt.timeIntervalSinceNow - 15 * 60) < 10)
                // The pages read the HTTPS API with it (the /audit page), as its user.
                #expect(try await api.get("/v1/audit/sessions", token: grant.token).status == .ok)
                #expect(try await api.request(.head, "/v1/audit/stats", token: grant.token).status == .ok)
                // It changes nothing, and makes no further sign-in.
                expectAPIError(try await api.request(.post, "/v1/console-tokens", token: grant.token), .unauthorized, "unauthorized")
                let link = #"{"ticket":"HD-1","tier":"basic"}"#
                expectAPIError(try await api.request(.post, "/v1/help-links", token: grant.token, body: link), .unauthorized, "unauthorized")
                issued.append(grant.token)
            }
            #expect(Set(issued).count == 3)
            // Each reads what its user may read: the auditor's verifies the log, the agent's does not.
            #expect(try await api.get("/v1/audit/verify", token: issued[2]).status == .ok)
            expectAPIError(try await api.get("/v1/audit/verify", token: issued[0]), .forbidden, "forbidden")
            let unknown = ConsoleTokens.prefix + String(repeating: "q", count: 43)
            expectAPIError(try await api.get("/v1/audit/sessions", token: unknown), .unauthorized, "unauthorized")
            // Revoking the user turns its sign-in away at once.
            #expect(try await api.store.revokeUser(name: "audrey", at: Date()))
            expectAPIError(try await api.get("/v1/audit/sessions", token: issued[2]), .unauthorized, "unauthorized")
        }
    }

    @Test("a body of a route's limit is read, one byte more is 413 and changes nothing (16 KiB; 4 KiB for prune)")
    func bodyLimits() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            /// `json` followed by spaces, `size` bytes in all (JSON allows trailing whitespace).
            func padded(_ json: String, to size: Int) -> String {
                json + String(repeating: " ", count: size - json.utf8.count)
            }
            /// A body over the limit: 413 with the JSON error body, like every other refusal (§9).
            func expectTooLarge(_ response: TestResponse) {
                #expect(response.status == .contentTooLarge, "\(response.status.code) \(response.text)")
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.text.contains(#""code":"payload-too-large""#), "\(response.text)")
            }
            let kib16 = 16 << 10

            let link = #"{"ticket":"HD-1","tier":"basic"}"#
            expectTooLarge(try await api.request(.post, "/v1/help-links", token: api.alice, body: padded(link, to: kib16 + 1)))
            #expect(try await api.request(.post, "/v1/help-links", token: api.alice, body: padded(link, to: kib16)).status == .ok)

            let end = "/v1/sessions/\(sessions.noOutcome)/end"
            let outcome = #"{"outcome":"escalated"}"#
            expectTooLarge(try await api.request(.post, end, token: api.bob, body: padded(outcome, to: kib16 + 1)))
            #expect(try await api.store.session(id: sessions.noOutcome)?.outcome == nil)
            #expect(try await api.request(.post, end, token: api.bob, body: padded(outcome, to: kib16)).status == .ok)
            #expect(try await api.store.session(id: sessions.noOutcome)?.outcome == .escalated)

            let transfer = "/v1/sessions/\(sessions.open)/transfer"
            expectTooLarge(try await api.request(.post, transfer, token: api.alice, body: padded(#"{"line":"line2"}"#, to: kib16 + 1)))

            let prune = #"{"before":"\#(RouterHarness.time(api.start.addingTimeInterval(-3600)))"}"#
            expectTooLarge(try await api.request(.post, "/v1/audit/prune", token: api.ada, body: padded(prune, to: 4097)))
            #expect(try await api.store.checkpoints().isEmpty)
            let pruned = try await api.request(.post, "/v1/audit/prune", token: api.ada, body: padded(prune, to: 4096))
            #expect(pruned.status == .ok)
            #expect(try pruned.decode(PruneResult.self).removedEvents == 6)
        }
    }
}
