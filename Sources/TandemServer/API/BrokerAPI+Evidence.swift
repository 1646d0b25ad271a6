import Foundation
import Hummingbird
import TandemCore
import TandemProtocol

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
        let log = try await syncedTree()
        let writer = EvidenceBundleWriter(store: store, tree: tree, signer: signingKey.signer, recordings: recordings, directory: bundleDirectory)
        let written: (path: String, bytes: Int)
        do {
            written = try await writer.write(session: record, includeRecording: includeRecording, log: log)
        } catch let refusal as EvidenceBundleWriter.Refusal {
            throw APIError.conflict(refusal.description)
        }
        let body = try await FileIO().loadFile(path: written.path, context: context)
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/zip",
                .contentDisposition: "attachment; filename=\"tandem-evidence-\(record.id).zip\"",
                .contentLength: String(written.bytes),
            ],
            body: body
        )
    }
}
