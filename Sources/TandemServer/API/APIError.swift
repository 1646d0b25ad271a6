import Hummingbird
import TandemProtocol

/// An HTTPS API failure, answered as `{"error": {"code", "message"}}` with its status.
///
/// Messages never contain tokens, codes or customer data.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try TandemJSON.makeEncoder().encode(APIErrorBody(code: code, message: message))
        var headers: HTTPFields = [.contentType: "application/json"]
        // RFC 9110 §11.6.1: a 401 names the scheme it wants.
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="tandem""# }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized", message: "missing, unknown or revoked token")
    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, code: "forbidden", message: message) }
    static func badRequest(_ message: String) -> APIError { APIError(status: .badRequest, code: "bad-request", message: message) }
    static let notFound = APIError(status: .notFound, code: "not-found", message: "no such session")
    static func conflict(_ message: String) -> APIError { APIError(status: .conflict, code: "conflict", message: message) }
}
