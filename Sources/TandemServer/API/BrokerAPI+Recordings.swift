import Hummingbird
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Recordings over HTTPS (protocol/README.md §19).
extension BrokerAPI {
    /// `GET /v1/recordings/{id}`: the session's recording file, for those who may read the
    /// session (auditors, admins, its agent), once its SHA-256 is in the audit log
    /// (`recording.closed`). 404 when it was not recorded, or its file is not on this broker;
    /// 409 while the session is live (still recording) or before the hash is logged.
    func recording(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        let record = try await readableSession(try context.parameters.require("id"), by: user)
        guard record.isEnded else { throw APIError.conflict("session \(record.id) is live: its recording is closed and hashed when it ends") }
        let hashLogged = try await store.events(sessionID: record.id).contains(where: { $0.kind == .recordingClosed })
        let path = RecordingWriter.path(directory: recordings, sessionID: record.id)
        guard FileManager.default.fileExists(atPath: path) else {
            let message =
                hashLogged
                ? "the recording file of session \(record.id) is missing on this broker (its SHA-256 is in the audit log)"
                : "session \(record.id) has no recording on this broker"
            throw APIError(.notFound, message)
        }
        // Never a file whose hash is not in the log: it could be anything.
        guard hashLogged else {
            throw APIError.conflict("the recording of session \(record.id) is not closed yet: its SHA-256 is not in the audit log")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        return Response(
            status: .ok,
            headers: [.contentType: "application/vnd.tandem.recording", .contentDisposition: "attachment; filename=\"\(record.id).tdrec\""],
            body: body
        )
    }
}
