import AsyncHTTPClient
import Logging
import NIOCore
import TandemCore
import TandemProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Publishes each checkpoint's signed tree head outside the database (protocol/README.md
/// §11.10): one JSON line appended to the operator's anchor file and to syslog, and a POST
/// to each helpdesk webhook. What was published there cannot be rewritten together with the
/// database; `tandem audit verify --against FILE` checks the log against it.
struct AuditAnchors: Sendable {
    let configuration: BrokerConfiguration
    let logger: Logger

    var isEmpty: Bool {
        configuration.auditAnchorFile == nil && !configuration.auditAnchorSyslog && configuration.webhooks.isEmpty
    }

    /// The line written for `head`: its JSON, one line.
    static func line(_ head: TreeHead) throws -> String {
        String(decoding: try TandemJSON.makeEncoder().encode(head), as: UTF8.self)
    }

    func publish(_ head: TreeHead, client: HTTPClient?) async {
        guard !isEmpty, let line = try? Self.line(head) else { return }
        if let path = configuration.auditAnchorFile {
            do {
                try Self.append(line + "\n", to: path)
            } catch {
                logger.error("Could not append the signed tree head to the anchor file", metadata: ["error": "\(error)"])
            }
        }
        if configuration.auditAnchorSyslog {
            Self.syslogLine(line)
        }
        if let client {
            for target in configuration.webhooks {
                let payload = WebhookPayload(
                    event: "audit.tree-head",
                    delivery: "tree-head-\(head.firstSeq)-\(head.size)",
                    occurredAt: head.at,
                    session: nil,
                    treeHead: head
                )
                // Two tries; the next head covers this one if both fail.
                for attempt in 0..<2 {
                    if attempt > 0 { try? await Task.sleep(for: .seconds(1)) }
                    if await WebhookDispatcher.send(payload, to: target, client: client, configuration: configuration, logger: logger) { break }
                }
            }
        }
    }

    /// Appends `text` with O_APPEND (one write, so lines from two brokers never interleave)
    /// and syncs it.
    static func append(_ text: String, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AnchorError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw AnchorError(description: "cannot write to \(path): \(String(cString: strerror(errno)))") }
        guard fsync(descriptor) == 0 else { throw AnchorError(description: "cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    private static func syslogLine(_ line: String) {
        openlog("tandem-audit", LOG_PID | LOG_NDELAY, LOG_AUTH)
        // A C string for %s: a Swift String is not one.
        line.withCString { text in withVaList([text]) { vsyslog(LOG_NOTICE, "%s", $0) } }
    }

    struct AnchorError: Error, CustomStringConvertible {
        let description: String
    }
}
