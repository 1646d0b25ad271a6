import Foundation
import Hummingbird
import TandemCore
import TandemProtocol
import _NIOFileSystem

/// Evidence bundles (protocol/README.md §11.9), for auditors and admins.
extension BrokerAPI {
    /// Where bundles are written before they are served: `DATA/bundles`.
    var bundleDirectory: String {
        URL(fileURLWithPath: recordings).deletingLastPathComponent().appendingPathComponent("bundles").path
    }

    /// `GET /v1/audit/sessions/{id}/bundle[?recording=false]`: the session's evidence bundle
    /// as a ZIP file. 409 for a live session (its record is not complete yet) or a log the
    /// broker signs no head over.
    func evidenceBundle(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canReadAllSessions else { throw APIError.forbidden("only auditors and admins make evidence bundles") }
        let record = try await readableSession(try context.parameters.require("id"), by: user)
        guard record.isEnded else { throw APIError.conflict("session \(record.id) is live: its evidence bundle can be made once it has ended") }
        let includeRecording: Bool
        switch request.uri.queryParameters.get("recording") {
        case nil, "true": includeRecording = true
        case "false": includeRecording = false
        case .some: throw APIError.badRequest("recording must be true or false")
        }
        // HEAD: the headers a GET would have, without writing a bundle nobody reads.
        if request.method == .head {
            return Response(
                status: .ok,
                headers: [.contentType: "application/zip", .contentDisposition: "attachment; filename=\"tandem-evidence-\(record.id).zip\""]
            )
        }
        let writer = EvidenceBundleWriter(
            store: store,
            tree: tree,
            signer: signingKey.signer,
            recordings: recordings,
            directory: bundleDirectory,
            writing: bundlesWriting,
            atOnce: hub.configuration.evidenceBundlesAtOnce
        )
        let written: (path: String, bytes: Int)
        do {
            written = try await writer.write(session: record, includeRecording: includeRecording)
        } catch let refusal as EvidenceBundleWriter.Refusal {
            throw APIError.conflict(refusal.description)
        } catch let refusal as AuditTree.Refusal {
            throw APIError.conflict(refusal.description)
        } catch is EvidenceBundleWriter.Busy {
            throw APIError(
                .busy,
                "as many evidence bundles as this broker writes at once are being written; try again in a few seconds",
                headers: [.retryAfter: "5"]
            )
        }
        let path = written.path
        // Streamed from the file, which is removed once sent (or the client went away).
        let body = ResponseBody(contentLength: written.bytes) { writer in
            defer { try? FileManager.default.removeItem(atPath: path) }
            try await FileSystem.shared.withFileHandle(forReadingAt: .init(path)) { handle in
                for try await chunk in handle.readChunks(chunkLength: .kibibytes(128)) { try await writer.write(chunk) }
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/zip",
                .contentDisposition: "attachment; filename=\"tandem-evidence-\(record.id).zip\"",
            ],
            body: body
        )
    }
}
