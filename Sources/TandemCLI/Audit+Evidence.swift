import ArgumentParser
import Crypto
import Foundation
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import ZIPFoundation

extension Audit {
    struct Bundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a session's evidence bundle: its events with proofs in a signed tree head, the key, a summary and the recording.",
            discussion:
                "Anyone can check the file offline with `tandem audit verify --bundle FILE` or protocol/verify_bundle.py (protocol/README.md §11.9)."
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Argument(help: "Session id (s_...).") var id: String
        @Option(name: [.short, .customLong("output")], help: "The file to write (default tandem-evidence-SESSION.zip).") var output: String?
        @Flag(help: "Leave the recording out (its hash stays in the bundle).") var noRecording = false

        func run() async throws {
            let bytes = try await withAPI(connection, tokenOptions, refusal: "evidence bundle refused") {
                try await $0.evidenceBundle(sessionID: id, includeRecording: !noRecording)
            }
            let path = output ?? "tandem-evidence-\(id).zip"
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes.readableBytesView)) else {
                throw CLIFailure("cannot write \(path)")
            }
            say("wrote \(path) (\(bytes.readableBytes) bytes)")
        }
    }
}

/// `tandem audit verify --bundle FILE`: the checks of §11.9, offline.
enum BundleCheck {
    /// The most of an entry the checks read into memory (manifest, events, key).
    static let readLimit = 256 << 20

    enum Unreadable: Error {
        case notAZip
        case problem(String)
    }

    /// The entries of a ZIP file: each one hashed as it is read, the few the checks read kept.
    static func entries(of path: String) throws(Unreadable) -> EvidenceVerifier.Entries {
        guard let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read) else { throw .notAZip }
        var entries = EvidenceVerifier.Entries()
        for entry in archive where entry.type != .directory {
            // The same name twice: which one would a reader take?
            guard entries.digests[entry.path] == nil else { throw .problem("\(entry.path) is in the file twice") }
            let keep = EvidenceVerifier.Entries.readEntries.contains(entry.path)
            var hasher = SHA256()
            var bytes = 0
            var kept: [UInt8] = []
            do {
                _ = try archive.extract(entry) { chunk in
                    hasher.update(data: chunk)
                    bytes += chunk.count
                    if keep {
                        guard bytes <= readLimit else { throw Unreadable.problem("\(entry.path) is over \(readLimit >> 20) MiB") }
                        kept.append(contentsOf: chunk)
                    }
                }
            } catch let unreadable as Unreadable {
                throw unreadable
            } catch {
                throw .problem("\(entry.path) cannot be read (damaged, or its checksum is wrong)")
            }
            entries.digests[entry.path] = (hasher.finalize().lowercaseHex, bytes)
            if keep { entries.contents[entry.path] = kept }
        }
        return entries
    }

    /// The raw key (base64) of the Ed25519 public key PEM `file` given with `--key`.
    static func rawKey(file: String) throws -> String {
        guard let pem = try? String(contentsOfFile: file, encoding: .utf8), let raw = EvidenceVerifier.rawKey(pem: pem) else {
            throw CLIFailure("\(file) is not an Ed25519 public key (PEM)")
        }
        return raw
    }

    static func run(path: String, keyFile: String?) throws {
        let expectedKey = try keyFile.map(Self.rawKey(file:))
        let entries: EvidenceVerifier.Entries
        do {
            entries = try Self.entries(of: path)
        } catch .notAZip {
            say("FAILED format: \(path) is not a ZIP file")
            throw ExitCode(2)
        } catch .problem(let reason) {
            say("FAILED format: \(reason)")
            throw ExitCode(1)
        }
        let report = EvidenceVerifier.verify(entries, expectedKey: expectedKey)
        for line in report.passed { say(line) }
        if let failure = report.failure {
            say("FAILED \(failure.check): \(failure.reason)")
            throw ExitCode(report.notABundle ? 2 : 1)
        }
    }
}

/// `tandem audit verify --against FILE`: the log against every tree head recorded outside
/// it (§11.10).
enum AnchorCheck {
    static func run(path: String, keyFile: String?, api: TandemAPIClient) async throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIFailure("cannot read \(path)") }
        let key: String
        if let keyFile {
            key = try BundleCheck.rawKey(file: keyFile)
        } else {
            key = try await api.auditPublicKey().raw
        }
        let now = try await api.treeHead()
        guard AuditSigner.isValid(now, publicKey: key) else { throw CLIFailure("the broker's tree head now is not signed by the key") }
        var checked = 0
        var failed = 0
        var pruned = 0
        var skipped = 0
        for line in text.split(whereSeparator: \.isNewline) {
            // A syslog line has its header before the JSON.
            guard let brace = line.firstIndex(of: "{"),
                let head = try? TandemJSON.makeDecoder().decode(TreeHead.self, from: Data(line[brace...].utf8))
            else {
                skipped += 1
                continue
            }
            checked += 1
            let name = "head of \(head.size) events (signed \(Formatting.timestamp(head.at)))"
            guard AuditSigner.isValid(head, publicKey: key) else {
                failed += 1
                say("FAILED \(name): not signed by the broker's key")
                continue
            }
            // A prune only moves the log's start forward: a log that starts before a recorded
            // head did is an older copy (a backup from before the prune).
            guard head.firstSeq <= now.firstSeq else {
                failed += 1
                say("FAILED \(name): the log starts at event #\(now.firstSeq), before the head's #\(head.firstSeq): an older copy of the log")
                continue
            }
            guard head.firstSeq == now.firstSeq else {
                pruned += 1
                say("pruned \(name): the log now starts at event #\(now.firstSeq), the head at #\(head.firstSeq)")
                continue
            }
            if head.size > now.size {
                failed += 1
                say("FAILED \(name): the log has only \(now.size) events now: rolled back")
                continue
            }
            let consistent: Bool
            if head.size == now.size {
                consistent = head.rootHash == now.rootHash
            } else {
                let proof = try await api.consistencyProof(from: head.size, to: now.size)
                let path = proof.path.compactMap(MerkleTree.bytes(hex:))
                guard let oldRoot = MerkleTree.bytes(hex: head.rootHash), let newRoot = MerkleTree.bytes(hex: now.rootHash),
                    path.count == proof.path.count
                else {
                    failed += 1
                    say("FAILED \(name): not hex")
                    continue
                }
                consistent =
                    proof.treeHead.rootHash == now.rootHash
                    && MerkleTree.verifyConsistency(oldSize: head.size, newSize: now.size, oldRoot: oldRoot, newRoot: newRoot, proof: path)
            }
            if consistent {
                say("ok \(name): the log of \(now.size) events extends it")
            } else {
                failed += 1
                say(
                    "FAILED \(name): the log is not an extension of it: events before #\(head.firstSeq + Int64(head.size)) were changed, removed or reordered"
                )
            }
        }
        say(
            "\(checked) recorded heads: \(checked - failed - pruned) consistent, \(failed) failed, \(pruned) from before a prune; \(skipped) other lines"
        )
        if failed > 0 { throw ExitCode(1) }
        if checked == 0 { throw CLIFailure("\(path) holds no signed tree head") }
    }
}
