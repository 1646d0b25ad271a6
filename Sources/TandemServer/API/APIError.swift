import HTTPTypes
import Hummingbird
import TandemProtocol

/// An HTTPS API failure, answered as `{"error": {"code", "message"}}` with its status, plus
/// `headers` (`Allow` on a 405, `Upgrade` on a 426).
///
/// Messages never contain tokens, codes or customer data.
struct APIError: HTTPResponseError {
    let status: HTTPResponse.Status
    /// An ``APIErrorCode``'s raw value; the WebSocket admission refusals (§13) use their own.
    let code: String
    let message: String
    var headers: HTTPFields = [:]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try TandemJSON.makeEncoder().encode(APIErrorBody(code: code, message: message))
        var headers = self.headers
        headers[.contentType] = "application/json"
        // RFC 9110 §11.6.1: a 401 names the scheme it wants.
        if status == .unauthorized { headers[.wwwAuthenticate] = #"Bearer realm="tandem""# }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension APIError {
    /// The refusal `code`, with its status.
    init(_ code: APIErrorCode, _ message: String, headers: HTTPFields = [:]) {
        self.init(status: code.status, code: code.rawValue, message: message, headers: headers)
    }

    static let unauthorized = APIError(.unauthorized, "missing, unknown or revoked token")
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, message) }
    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }
    static let notFound = APIError(.notFound, "no such session")
    static func conflict(_ message: String) -> APIError { APIError(.conflict, message) }

    /// A `/v1` path that is no route of the API (never the path itself: it may carry anything).
    static let noSuchRoute = APIError(.notFound, "no such API route; the routes are listed in protocol/openapi.yaml")

    /// A `/v1` route that does not take `method`; `allowed` are the methods it takes.
    static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> APIError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, "this route does not take \(method.rawValue); it takes \(list)", headers: [.allow: list])
    }

    /// A WebSocket endpoint (`/v1/ws`, `/v1/echo`) asked without an upgrade (RFC 9110 §15.5.22).
    static let upgradeRequired = APIError(
        .upgradeRequired,
        "this is a WebSocket endpoint: open it with a WebSocket upgrade (RFC 6455)",
        headers: [.upgrade: "websocket", .connection: "Upgrade"]
    )
}
