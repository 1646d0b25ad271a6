import Foundation
import Logging
import TandemClient
import TandemCore
import TandemProtocol
import TandemServer
import Testing

/// Tree heads committed by checkpoints and anchored outside the database (protocol/README.md
/// §11.10), and `tandem audit verify --against FILE`.
@Suite("Live TLS broker: checkpoints commit to the Merkle tree; heads are anchored and checked (§11.10)", .timeLimit(.minutes(3)))
struct AuditAnchorTests {
    static func lines(_ path: String) -> [String] {
        (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
    }

    /// Adds users (events) until `path` holds `count` heads.
    static func waitForHeads(_ path: String, count: Int, broker: LiveBroker) async throws {
        for round in 0..<200 {
            if lines(path).count >= count { return }
            if round % 10 == 0 { _ = try await broker.addUser("user\(UUID().uuidString.prefix(8).lowercased())", role: .agent) }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("\(path) holds \(lines(path).count) heads, not \(count)")
    }

    /// `tandem audit verify --against FILE [--key PEM]` against `broker` as `token`: its exit status and output.
    static func verifyAgainst(_ broker: LiveBroker, token: String, file: String, key: String? = nil) async throws -> (status: Int32, text: String) {
        let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
        let check = try await ChildProcess.run(
            ["TANDEM_TOKEN=\(token)", try BrokerProcess.binary, "audit", "verify", "--against", file] + (key.map { ["--key", $0] } ?? []) + server
        )
        return (check.status, String(decoding: check.stdout + check.stderr, as: UTF8.self))
    }

    /// A broker that checkpoints every second into an anchor file, an auditor's token, and the
    /// file once it holds two heads: what the tampering tests start from.
    static func withRecordedHeads(_ body: @Sendable (LiveBroker, _ auditor: String, _ anchorFile: String) async throws -> Void) async throws {
        let anchorFile = NSTemporaryDirectory() + "tandem-anchors-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: anchorFile) }
        try await LiveBroker.run(configure: {
            $0.checkpointInterval = .seconds(1)
            $0.auditAnchorFile = anchorFile
        }) { broker in
            let audrey = try await broker.addUser("audrey", role: .auditor)
            try await waitForHeads(anchorFile, count: 2, broker: broker)
            try await body(broker, audrey, anchorFile)
        }
    }

    /// A listener on /dev/log for the broker's syslog lines, when no syslog daemon owns it.
    static func syslogListener(seconds: Int) throws -> (SpawnedProcess, Pipe)? {
        guard !FileManager.default.fileExists(atPath: "/dev/log") else { return nil }
        let script = """
            import socket, sys, os, time, signal
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind("/dev/log")
            print("ready", flush=True)
            s.settimeout(0.5)
            end = time.time() + float(sys.argv[1])
            try:
                while time.time() < end:
                    try:
                        print(s.recv(65536).decode("utf-8", "replace"), flush=True)
                    except socket.timeout:
                        pass
            finally:
                os.unlink("/dev/log")
            """
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, String(seconds)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    @Test("every checkpoint keeps a signed head of the log's tree; it goes to the anchor file, syslog and the webhook; verify --against passes")
    func anchored() async throws {
        let receiver = HelpdeskReceiver()
        receiver.failing.withLock { $0 = false }
        let listener = try Self.syslogListener(seconds: 40)
        if let listener {
            // Wait for the socket before the broker logs.
            var ready = false
            for _ in 0..<100 where !ready {
                ready = FileManager.default.fileExists(atPath: "/dev/log")
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(ready)
            _ = listener
        }
        let anchorFile = NSTemporaryDirectory() + "tandem-anchors-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: anchorFile) }
        try await receiver.run { hook in
            try await LiveBroker.run(configure: {
                $0.checkpointInterval = .seconds(1)
                $0.auditAnchorFile = anchorFile
                $0.auditAnchorSyslog = listener != nil
                $0.webhooks = [.init(url: hook)]
            }) { broker in
                let audrey = try await broker.addUser("audrey", role: .auditor)
                let key = try await broker.api(audrey) { try await $0.auditPublicKey() }
                try await Self.waitForHeads(anchorFile, count: 3, broker: broker)

                // Each line is a head signed by the broker, and each is the head a checkpoint keeps.
                let heads = try Self.lines(anchorFile).map { try TandemJSON.makeDecoder().decode(TreeHead.self, from: Data($0.utf8)) }
                let checkpoints = try await broker.store.checkpoints()
                for head in heads {
                    #expect(AuditSigner.isValid(head, publicKey: key.raw))
                    let checkpoint = checkpoints.first { $0.treeHead == head }
                    #expect(checkpoint != nil, "no checkpoint keeps the head of \(head.size)")
                    if let checkpoint { #expect(Int64(head.size) == checkpoint.seq - head.firstSeq + 1) }
                    // Its root is the tree the broker proves events in.
                    let proof = try await broker.api(audrey) { try await $0.inclusionProof(seq: head.firstSeq, size: head.size) }
                    #expect(proof.treeHead.rootHash == head.rootHash)
                }
                #expect(try await broker.api(audrey) { try await $0.checkpoints() }.checkpoints.contains { $0.treeHead != nil })
                #expect(try await broker.api(audrey) { try await $0.verifyAuditLog() }.status == .intact)

                // The same heads reached the helpdesk webhook.
                for _ in 0..<100 where receiver.deliveries.withLock({ $0 }).filter({ $0.event == "audit.tree-head" }).count < heads.count {
                    try await Task.sleep(for: .milliseconds(100))
                }
                let delivered = receiver.deliveries.withLock { $0 }.filter { $0.event == "audit.tree-head" }
                let bodies = delivered.compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
                let deliveredRoots = Set(bodies.compactMap { ($0["treeHead"] as? [String: Any])?["rootHash"] as? String })
                #expect(Set(heads.map(\.rootHash)).isSubset(of: deliveredRoots))

                // And syslog, when this machine let the test listen there.
                if let (process, output) = listener {
                    process.terminate()
                    await process.waitForExit()
                    let logged = String(decoding: await SpawnedProcess.readAll(output), as: UTF8.self)
                    #expect(logged.contains("tandem-audit"), "\(logged.prefix(300))")
                    #expect(heads.contains { logged.contains($0.rootHash) }, "\(logged.prefix(300))")
                }

                // The CLI checks the log against the file: every head consistent (more may have
                // been appended since they were read above).
                let check = try await Self.verifyAgainst(broker, token: audrey, file: anchorFile, key: broker.directory + "/audit-signing.pub.pem")
                #expect(check.status == 0, "\(check.text)")
                let summary = check.text.split(separator: "\n").last { $0.contains("recorded heads:") }.map(String.init) ?? ""
                let counts = summary.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                #expect(counts.count == 5 && counts[0] >= heads.count && counts[1] == counts[0] && counts[2] == 0, "\(check.text)")
            }
        }
    }

    @Test("a log rewritten behind the broker (chain recomputed, as someone with the database and the key could) fails verify --against")
    func rewritten() async throws {
        try await Self.withRecordedHeads { broker, audrey, anchorFile in
            // An event early in the log gets another hash, and every later hash is recomputed
            // so the chain holds again; checkpoints and the kept head are re-signed as an
            // attacker with the key file would. The Merkle tree is what they cannot redo:
            // the heads were already published.
            let script = """
                import sqlite3, sys, hashlib, json
                db = sqlite3.connect(sys.argv[1])
                rows = db.execute("SELECT seq, at_ms, session_id, kind, actor, detail, previous_hash FROM audit_events ORDER BY seq").fetchall()
                def esc(t):
                    return t.replace("%", "%25").replace("&", "%26").replace("=", "%3D").replace("\\n", "%0A")
                previous = None
                for seq, at_ms, session_id, kind, actor, detail, prev in rows:
                    d = json.loads(detail)
                    if seq == 2:
                        d["role"] = "admin"
                    prev = previous if previous is not None else prev
                    pairs = "&".join(esc(k) + "=" + esc(v) for k, v in sorted(d.items()))
                    text = "\\n".join([str(seq), str(at_ms), session_id or "", kind, actor or "", pairs, prev])
                    h = hashlib.sha256(text.encode()).hexdigest()
                    db.execute("UPDATE audit_events SET detail = ?, previous_hash = ?, hash = ? WHERE seq = ?", (json.dumps(d), prev, h, seq))
                    previous = h
                db.execute("DELETE FROM audit_checkpoints")
                db.commit()
                """
            let tampered = try await ChildProcess.run(["python3", "-c", script, broker.directory + "/tandem.sqlite"])
            #expect(tampered.status == 0, "\(String(decoding: tampered.stderr, as: UTF8.self))")
            let signer = try broker.signer()
            if let resigned = try await broker.store.writeCheckpoint(kind: .periodic, actor: "broker", at: Date(), signer: signer, onlyIfNew: false) {
                try AuditHeadFile(directory: broker.directory).record(resigned, replacing: true)
            }
            // The chain itself verifies again (no checkpoint is left to contradict it)...
            let chain = try await broker.api(audrey) { try await $0.verifyAuditLog() }
            #expect(chain.status == .intact, "\(chain)")
            // ...but the heads published before the rewrite are not a prefix of this log.
            let (status, text) = try await Self.verifyAgainst(broker, token: audrey, file: anchorFile)
            #expect(status == 1, "\(text)")
            #expect(text.contains("FAILED head of"), "\(text)")
            #expect(text.contains("were changed, removed or reordered"), "\(text)")
        }
    }

    @Test("a log rolled back behind recorded heads (its newest events and checkpoints removed) fails verify --against")
    func rolledBack() async throws {
        try await Self.withRecordedHeads { broker, audrey, anchorFile in
            let heads = try Self.lines(anchorFile).map { try TandemJSON.makeDecoder().decode(TreeHead.self, from: Data($0.utf8)) }
            let keep = Int64(heads[0].size)
            // Everything after the first recorded head goes, checkpoints included, as an older
            // copy of the database would have it.
            let script = """
                import sqlite3, sys
                db = sqlite3.connect(sys.argv[1])
                db.execute("DELETE FROM audit_events WHERE seq > ?", (int(sys.argv[2]),))
                db.execute("DELETE FROM audit_checkpoints WHERE seq > ?", (int(sys.argv[2]),))
                db.commit()
                """
            let cut = try await ChildProcess.run(["python3", "-c", script, broker.directory + "/tandem.sqlite", String(keep)])
            #expect(cut.status == 0, "\(String(decoding: cut.stderr, as: UTF8.self))")
            let (status, text) = try await Self.verifyAgainst(broker, token: audrey, file: anchorFile)
            #expect(status == 1, "\(text)")
            #expect(text.contains("events now: rolled back"), "\(text)")
        }
    }
}
