import Foundation
import TandemServer
import Testing

/// The broker's TLS 1.2 suites (protocol/README.md §1): AEAD with ECDHE only. A client that
/// offers nothing but a CBC, SHA-1-MAC or static-RSA suite fails the handshake; AEAD suites
/// and TLS 1.3 work. The handshakes are made by Python's OpenSSL, not by NIOSSL.
@Suite("Live TLS broker: TLS 1.2 cipher suites", .timeLimit(.minutes(1)))
struct TLSCipherTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("interop/tls_ciphers.py").path

    /// `suite → "ok" | "refused"` for each suite offered alone.
    func probe(port: Int, ca: String, _ suites: [String]) async throws -> [String: String] {
        let child = try await ChildProcess.run(["python3", Self.script, "127.0.0.1", String(port), ca] + suites)
        let output = String(decoding: child.stdout, as: UTF8.self)
        #expect(child.status == 0, "\(String(decoding: child.stderr, as: UTF8.self))")
        var results: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count >= 2 { results[fields[0]] = fields[1] }
        }
        #expect(Set(results.keys) == Set(suites), "\(output)")
        return results
    }

    @Test("ECDSA (development) certificate: CBC/SHA-1 suites are refused, AES-GCM, ChaCha20-Poly1305 and TLS 1.3 work")
    func ecdsaCertificate() async throws {
        try await LiveBroker.run { broker in
            let refused = ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA"]
            let accepted = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.3"]
            let results = try await probe(port: broker.port, ca: broker.caFile, refused + accepted)
            for suite in refused { #expect(results[suite] == "refused", "\(suite) was accepted") }
            for suite in accepted { #expect(results[suite] == "ok", "\(suite) was refused") }
        }
    }

    @Test("RSA certificate (--cert/--key): static-RSA and CBC suites are refused, ECDHE-RSA with AEAD works")
    func rsaCertificate() async throws {
        let directory = NSTemporaryDirectory() + "tandem-rsa-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let certificate = directory + "/rsa.pem"
        let key = directory + "/rsa.key"
        let made = try await ChildProcess.run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        try #require(made.status == 0, "openssl: \(String(decoding: made.stderr, as: UTF8.self))")
        try await LiveBroker.run(configure: { $0.transportSecurity = .certificateFiles(certificate: certificate, key: key) }) { broker in
            let refused = ["AES256-SHA", "AES128-SHA", "AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA"]
            let accepted = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.3"]
            let results = try await probe(port: broker.port, ca: certificate, refused + accepted)
            for suite in refused { #expect(results[suite] == "refused", "\(suite) was accepted") }
            for suite in accepted { #expect(results[suite] == "ok", "\(suite) was refused") }
        }
    }
}
