import HTTPTypes
import Hummingbird

/// `HEAD` answered as RFC 9110 §9.3.2 requires: the status and headers a `GET` would get
/// (`Content-Length` included), never a body — refusals too.
///
/// The router makes a `HEAD` route for every `GET` route (`.autoGenerateHeadEndpoints`), but
/// an error a route throws becomes its JSON response after that, body and all, and the HTTP/1
/// encoder would send that body after a `HEAD`. Added before every route, so it wraps them all
/// and the not-found responder.
struct HeadResponseMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .head else { return try await next(request, context) }
        do {
            return try await next(request, context).createHeadResponse()
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context).createHeadResponse()
        }
    }
}
