import Foundation
import HTTPTypes
import HummingbirdTesting
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// What anyone may ask for (protocol/README.md §9, SECURITY.md "Anyone on the network"):
/// health, metrics, the browser pages and their assets; and what is not there.
extension APIRouteTests {
    /// The browser pages as they are in the source tree (the broker serves its bundled copy).
    static let webSources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/TandemServer/Web")

    static func webSource(_ name: String) throws -> String {
        try String(contentsOf: webSources.appendingPathComponent(name), encoding: .utf8)
    }

    @Test("GET /healthz says ok, GET /readyz ready (the database answers); no token needed")
    func health() async throws {
        try await RouterHarness.run { api in
            let health = try await api.get("/healthz")
            #expect(health.status == .ok)
            #expect(health.text == "ok\n")
            let ready = try await api.get("/readyz")
            #expect(ready.status == .ok)
            #expect(ready.text == "ready\n")
        }
    }

    @Test("the application built with the default TLS configuration makes its development certificates and answers the same")
    func developmentCertificate() async throws {
        try await RouterHarness.run(configure: { $0.transportSecurity = .developmentCertificate }) { api in
            #expect(FileManager.default.fileExists(atPath: api.directory + "/certs/ca.pem"))
            #expect(FileManager.default.fileExists(atPath: api.directory + "/certs/server.pem"))
            #expect(try await api.get("/healthz").text == "ok\n")
            expectAPIError(try await api.get("/v1/audit/sessions"), .unauthorized, "unauthorized")
        }
    }

    @Test("GET /metrics: Prometheus text with the documented series, and no names or tickets")
    func metrics() async throws {
        try await RouterHarness.run { api in
            _ = try await api.seedSessions()
            let response = try await api.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            let text = response.text
            for series in [
                #"tandem_sessions{state="waiting"} 0"#, #"tandem_sessions{state="live"} 0"#, "tandem_connections 0", "tandem_queue_waiting 0",
                "tandem_sessions_started_total 0", "tandem_frames_dropped_total 0", #"tandem_sessions_ended_total{reason="expired"} 0"#,
                #"tandem_relayed_frames_total{direction="to_agent"} 0"#, #"tandem_relayed_bytes_total{direction="to_customer"} 0"#,
                #"tandem_join_failures_total{reason="unknown-code"} 0"#, #"tandem_upgrades_refused_total{reason="forbidden-origin"} 0"#,
                "# TYPE tandem_audit_write_seconds histogram", "tandem_audit_write_errors_total 0",
                "# TYPE tandem_queue_wait_seconds histogram", #"tandem_queue_wait_seconds_count{kind="customer"} 0"#,
                #"tandem_queue_wait_seconds_bucket{kind="transfer",le="20.0"} 0"#, #"tandem_webhook_deliveries_total{result="failed"} 0"#,
                "tandem_webhook_lag_events 0", "tandem_recording_bytes_total 0", "tandem_recording_frames_dropped_total 0",
            ] {
                #expect(text.contains(series), "\(series) missing")
            }
            for secret in ["alice", "bob", "HD-1", "198.51.100.4", "tdm_"] {
                #expect(!text.contains(secret))
            }
        }
    }

    @Test("the browser pages: the bundled HTML with a strict CSP, no-store and the documented permissions; bad join paths 404")
    func pages() async throws {
        try await RouterHarness.run { api in
            let pages: [(path: String, file: String, camera: Bool)] = [
                ("/j/482-913-557-301", "customer.html", true), ("/j/482913557301", "customer.html", true),
                ("/help", "customer.html", true), ("/agent", "agent.html", true), ("/floor", "floor.html", false), ("/replay", "replay.html", false),
                ("/audit", "audit.html", false),
            ]
            for page in pages {
                let response = try await api.get(page.path)
                let html = try Self.webSource(page.file)
                #expect(response.status == .ok, "\(page.path)")
                #expect(response.text == html, "\(page.path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.cacheControl] == "no-store")
                let policy = try #require(response.headers[.contentSecurityPolicy])
                for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
                    #expect(policy.contains(directive), "\(page.path): \(policy)")
                }
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                let permissions = response.headers[HTTPField.Name("Permissions-Policy")!]
                #expect(permissions?.hasPrefix(page.camera ? "camera=(self)" : "camera=()") == true, "\(page.path): \(permissions ?? "none")")
                #expect(permissions?.contains(page.camera ? "microphone=(self)" : "microphone=()") == true, "\(page.path): voice (§5.14)")
            }
            // Not a twelve-digit code: the documented 404.
            for path in ["/j/nonsense", "/j/482-913-557", "/j/4829135573011"] {
                expectAPIError(try await api.get(path), .notFound, "not-found")
            }
        }
    }

    @Test("GET /web/…: the pages' scripts and styles as in the source tree; missing files 404, paths with .. are refused")
    func assets() async throws {
        try await RouterHarness.run { api in
            for file in ["js/protocol.js", "js/customer.js", "css/tandem.css"] {
                let response = try await api.get("/web/" + file)
                let source = try Self.webSource(file)
                #expect(response.status == .ok, "\(file)")
                #expect(response.text == source, "\(file)")
            }
            #expect(try await api.get("/web/js/missing.js").status == .notFound)
            #expect(try await api.get("/web/../Web/agent.html").status == .badRequest)
        }
    }

    @Test("no route: outside /v1 Hummingbird's empty 404; under /v1 JSON 404, 405 for a method a route does not take, 426 for WebSocket paths")
    func unknownRoutes() async throws {
        try await RouterHarness.run { api in
            let sessions = try await api.seedSessions()
            for path in ["/", "/nope", "/v2/audit/sessions"] {
                let response = try await api.request(.get, path, token: api.ada)
                #expect(response.status == .notFound, "\(path): \(response.status.code)")
                #expect(response.body.readableBytes == 0, "\(path): \(response.text)")
            }
            // Each in detail in APIRouteTests+Edges.
            let requests: [(HTTPRequest.Method, String, HTTPResponse.Status)] = [
                (.get, "/v1", .notFound), (.get, "/v1/nope", .notFound), (.get, "/v1/users", .notFound),
                (.delete, "/v1/sessions/\(sessions.resolved)", .methodNotAllowed), (.put, "/v1/audit/prune", .methodNotAllowed),
                (.get, "/v1/audit/prune", .methodNotAllowed), (.get, "/v1/ws", .upgradeRequired), (.get, "/v1/echo", .upgradeRequired),
            ]
            for (method, path, status) in requests {
                let response = try await api.request(method, path, token: api.ada)
                #expect(response.status == status, "\(method) \(path): \(response.status.code)")
                #expect(response.headers[.contentType] == "application/json", "\(method) \(path)")
            }
            // Nothing was changed by any of them.
            #expect(try await api.store.session(id: sessions.resolved)?.outcome == .resolved)
            #expect(try await api.store.checkpoints().isEmpty)
        }
    }
}
