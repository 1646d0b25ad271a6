import HTTPTypes
import Hummingbird

/// Answers, in the API's JSON, the `/v1` requests that no route took: `404` `not-found` for a
/// path that is no route, `405` `method-not-allowed` with `Allow` for a route that does not
/// take the method (protocol/README.md §9). Other paths keep Hummingbird's empty 404.
///
/// Added to the router after every route, so it wraps only the router's not-found responder;
/// it acts only on Hummingbird's own `HTTPError` 404 (the routes refuse with ``APIError``), so
/// a route registered after it would still be reached. No token is checked: which routes exist
/// is public (protocol/openapi.yaml).
struct APIFallbackMiddleware<Context: RequestContext>: RouterMiddleware {
    let table: APIRouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            guard APIRouteTable.isAPIPath(path) else { throw error }
            guard let allowed = table.allowedMethods(forPath: path) else { throw APIError.noSuchRoute }
            guard allowed.contains(request.method) else { throw APIError.methodNotAllowed(request.method, allowed: allowed) }
            // The table says the route takes the method, yet the router found none (they should agree): JSON all the same.
            throw APIError(.notFound, "not found")
        }
    }
}
