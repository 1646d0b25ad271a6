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
    /// session (auditors, admins, its agent). 404 when it was not recorded (or not on this
    /// broker), 409 while the session is still live. Its SHA-256 is in the audit log.
    func recording(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        let record = try await readableSession(try context.parameters.require("id"), by: user)
        guard record.isEnded else { throw APIError.conflict("the session is still live; its recording is closed when it ends") }
        let path = RecordingWriter.path(directory: recordings, sessionID: record.id)
        guard FileManager.default.fileExists(atPath: path) else {
            throw APIError(status: .notFound, code: "not-found", message: "session \(record.id) has no recording on this broker")
        }
        let body = try await FileIO().loadFile(path: path, context: context)
        return Response(
            status: .ok,
            headers: [.contentType: "application/vnd.tandem.recording", .contentDisposition: "attachment; filename=\"\(record.id).tdrec\""],
            body: body
        )
    }
}
