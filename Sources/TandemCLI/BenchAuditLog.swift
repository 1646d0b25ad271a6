import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import TandemCore
import TandemProtocol

/// `tandem bench audit-log`: builds a synthetic audit log through the store API, as a broker
/// would write it (sessions of ten events each, several at once), and reports the append
/// rate. bench/audit.sh runs it next to a broker signing Merkle checkpoints, then measures
/// bundles, proofs and verification on the result.
struct BenchAuditLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-log",
        abstract: "Append a synthetic audit log (sessions of 10 events) through the store API and report the append rate (bench/audit.sh)."
    )

    @OptionGroup var data: DataOptions

    @Option(help: "Events to append (rounded up to whole sessions of 10).")
    var events: Int = 1_000_000

    @Option(help: "Sessions written at once, as live sessions of a broker are.")
    var writers: Int = 16

    @Option(help: "Print the rate every this many events.")
    var every: Int = 100_000

    func validate() throws {
        if events < 10 { throw ValidationError("--events must be at least 10") }
        if !(1...256).contains(writers) { throw ValidationError("--writers must be 1-256") }
    }

    /// One session's ten events: created, joined, consent, a stream paused and resumed, a
    /// freeze, the stream stopped, the end.
    static func writeSession(_ store: any TandemStore, number: Int) async throws {
        let alphabet = Array("abcdefghjk")
        let digits = String(number)
        let id =
            "s_"
            + String(
                (String(repeating: "0", count: max(0, 16 - digits.count)) + digits).suffix(16).compactMap { $0.wholeNumberValue.map { alphabet[$0] } }
            )
        let start = Date()
        try await store.insertSession(
            SessionRecord(
                id: id,
                ticket: "HD-\(number % 50_000)",
                agent: "agent\(number % 40)",
                mode: .camera,
                createdAt: start,
                expiresAt: start + 600
            )
        )
        try await store.recordCustomerJoined(sessionID: id, at: Date(), client: "tandem-bench", address: "198.51.100.\(number % 250)")
        let stream = ["owner": "customer", "streamId": "1"]
        try await store.recordEvent(sessionID: id, kind: .consentGranted, actor: "customer", detail: ["source": "camera"], at: Date())
        try await store.recordEvent(
            sessionID: id,
            kind: .streamStarted,
            actor: "customer",
            detail: stream.merging(["source": "camera", "codec": "vp8", "size": "1280x720", "fps": "30"]) { $1 },
            at: Date()
        )
        try await store.recordEvent(sessionID: id, kind: .streamPaused, actor: "customer", detail: stream, at: Date())
        try await store.recordEvent(sessionID: id, kind: .streamResumed, actor: "customer", detail: stream, at: Date())
        try await store.recordEvent(
            sessionID: id,
            kind: .freezeStarted,
            actor: "agent",
            detail: stream.merging(["sequence": "42"]) { $1 },
            at: Date()
        )
        try await store.recordEvent(sessionID: id, kind: .freezeEnded, actor: "agent", detail: stream.merging(["sequence": "42"]) { $1 }, at: Date())
        try await store.recordEvent(sessionID: id, kind: .streamStopped, actor: "customer", detail: stream, at: Date())
        try await store.recordEnding(
            sessionID: id,
            ending: SessionEnding(endedAt: Date(), reason: .agentEnded, outcome: .resolved, note: "bench", traffic: SessionTraffic())
        )
    }

    func run() async throws {
        var logger = Logger(label: "tandem.bench.audit") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let sessions = (events + 9) / 10
        let writers = writers
        let every = every
        try await data.withStore(logger: logger) { store in
            let clock = ContinuousClock()
            let started = clock.now
            let counter = NIOLockedValueBox(0)
            let base = Int(Date().timeIntervalSince1970 * 1000) % 1_000_000_000 * 1000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var number = writer
                        while number < sessions {
                            try await Self.writeSession(store, number: base + number)
                            let written = counter.withLockedValue { count in
                                count += 10
                                return count
                            }
                            if written % every < 10 {
                                let seconds = (clock.now - started).seconds
                                say("\(written) events, \(Int(Double(written) / seconds)) events/s")
                            }
                            number += writers
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seconds = (clock.now - started).seconds
            say(
                "appended \(sessions * 10) events in \(String(format: "%.1f", seconds)) s: \(Int(Double(sessions * 10) / seconds)) events/s (\(writers) writers)"
            )
        }
    }
}
