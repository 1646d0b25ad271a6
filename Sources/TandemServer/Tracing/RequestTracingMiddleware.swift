import HTTPTypes
import Hummingbird
import Tracing

/// A server span for every HTTP request (the API, the pages, `/metrics`), when the process
/// bootstrapped a tracer (`tandem serve --otel-endpoint`); with none it costs a no-op span.
///
/// Unlike Hummingbird's `TracingMiddleware` it records only what is never secret: the method,
/// the route *template* (`/v1/sessions/{id}`, `/j/{code}`), the status and the body sizes.
/// Never the path as sent, the query or a header value: join codes and their link keys sit in
/// paths, tokens in headers and replay queries, and the peer's user agent is peer-supplied
/// text (the guide: secrets never reach logs at any level, traces included). With
/// `continuesTraceparent` (`--otel-trust-traceparent`, for a broker behind a proxy that sets
/// or strips it) a `traceparent` header (W3C) is continued, so a helpdesk that traces its own
/// calls sees the broker's span under them; otherwise it is ignored, as anyone could send one
/// to force sampling. `tracestate` (free text from the client) is never read.
struct RequestTracingMiddleware<Context: RequestContext>: RouterMiddleware {
    var continuesTraceparent = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        if continuesTraceparent {
            InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: TraceparentExtractor())
        }
        let method = request.method.rawValue
        let span = startSpan("HTTP \(method)", context: parent, ofKind: .server)
        span.attributes["http.request.method"] = method
        do {
            var response = try await ServiceContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            Self.finish(span, method: method, route: context.endpointPath, status: Int(response.status.code))
            span.attributes["http.response.body.size"] = response.body.contentLength
            // Ends once the body is written (a recording download streams for a while), as
            // Hummingbird's own `withPostWriteClosure` (package-only) does.
            let ender = SpanEnder(span)
            let body = response.body
            response.body = ResponseBody(contentLength: body.contentLength) { writer in
                defer { ender.end() }
                try await body.write(writer)
            }
            return response
        } catch {
            let status = Int((error as? any HTTPResponseError)?.status.code ?? 500)
            Self.finish(span, method: method, route: context.endpointPath, status: status)
            // The error's type only: its text may quote what the client sent.
            span.attributes["error.type"] = String(describing: type(of: error))
            span.end()
            throw error
        }
    }

    private static func finish(_ span: any Span, method: String, route: String?, status: Int) {
        if let route {
            // Hummingbird writes parameters as `:id`; OpenTelemetry's convention is `{id}`.
            let template = route.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .joined(separator: "/")
            span.operationName = "\(method) \(template)"
            span.attributes["http.route"] = template
        }
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }
}

/// Reads only `traceparent` for the instrument; every other header stays unread.
private struct TraceparentExtractor: Extractor {
    func extract(key: String, from carrier: HTTPFields) -> String? {
        guard key.lowercased() == "traceparent", let name = HTTPField.Name(key) else { return nil }
        return carrier[name]
    }
}

/// Ends its span once, when the response body has been written (or when dropped unwritten).
private final class SpanEnder: @unchecked Sendable {
    private var span: (any Span)?

    init(_ span: any Span) { self.span = span }

    func end() {
        span?.end()
        span = nil
    }

    deinit { span?.end() }
}
