import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

extension Audit {
    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the broker's checkpoint signing key (Ed25519 public key, PEM) and its fingerprint.",
            discussion: "Keep it apart from the broker: with it, anyone can check the signed checkpoints (see --checkpoints)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Flag(help: "Also print every signed checkpoint as JSON (auditors and admins).") var checkpoints = false

        func run() async throws {
            let key = try await withAPI(connection, tokenOptions) { try await $0.auditPublicKey() }
            FileHandle.standardOutput.write(Data(key.pem.utf8))
            say("fingerprint \(key.fingerprint)")
            if checkpoints {
                let list = try await withAPI(connection, tokenOptions) { try await $0.checkpoints() }
                try sayJSON(list.checkpoints)
            }
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove audit events older than a date (admins). A signed checkpoint keeps the rest verifiable.",
            discussion: "Session rows stay; only their events go. The prune itself is logged with your name."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "Remove events before this date (2026-01-01, midnight UTC) or RFC 3339 time.") var before: String

        func validate() throws {
            guard Self.parse(before) != nil else { throw ValidationError("--before must be a date like 2026-01-01 or an RFC 3339 time") }
        }

        func run() async throws {
            let date = Self.parse(before)!
            let result = try await withAPI(connection, tokenOptions, refusal: "prune refused") { try await $0.prune(before: date) }
            guard let through = result.prunedThroughSeq, let checkpoint = result.checkpoint else {
                say("Nothing to prune: no event before \(Formatting.timestamp(date)).")
                return
            }
            say("Removed \(result.removedEvents) events (up to #\(through)); signed checkpoint #\(checkpoint.id) anchors the rest.")
        }

        static func parse(_ text: String) -> Date? {
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            return formatter.date(from: text + "T00:00:00Z")
        }
    }
}
