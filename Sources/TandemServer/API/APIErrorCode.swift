import HTTPTypes

/// The `code` of an API refusal (`{"error":{"code","message"}}`) and the status it is sent
/// with: the error table of protocol/README.md §9 and the `Error` schema of
/// protocol/openapi.yaml.
enum APIErrorCode: String, Sendable, CaseIterable {
    /// 400: a parameter or the body is not what the route expects; the message says what is.
    case badRequest = "bad-request"
    /// 401: missing, malformed, unknown or revoked token.
    case unauthorized
    /// 403: the token's role may not do this.
    case forbidden
    /// 404: no such session (or another agent's), recording, or `/v1` route.
    case notFound = "not-found"
    /// 405: a `/v1` route that does not take this method; `Allow` lists those it takes.
    case methodNotAllowed = "method-not-allowed"
    /// 409: the session's state does not allow it (outcome recorded, not live on this broker, …).
    case conflict
    /// 413: the body is over the route's limit.
    case payloadTooLarge = "payload-too-large"
    /// 426: a WebSocket endpoint asked without an upgrade; `Upgrade: websocket`.
    case upgradeRequired = "upgrade-required"
    /// 503: the queue is full.
    case queueFull = "queue-full"
    /// 503: as many evidence bundles as the broker writes at once are being written (§11.9); `Retry-After`.
    case busy
    /// 403: a survey token not issued by this deployment (§5.16).
    case surveyInvalid = "survey-invalid"
    /// 410: the survey closed (24 hours after its session).
    case surveyExpired = "survey-expired"
    /// 409: the session's survey was answered already.
    case surveyAnswered = "survey-answered"

    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .conflict: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .upgradeRequired: .upgradeRequired
        case .queueFull: .serviceUnavailable
        case .busy: .serviceUnavailable
        case .surveyInvalid: .forbidden
        case .surveyExpired: .gone
        case .surveyAnswered: .conflict
        }
    }
}
