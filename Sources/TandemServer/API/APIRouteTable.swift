import HTTPTypes
import Hummingbird

/// The `/v1` routes of the HTTP router and the methods each takes, read back from the router
/// once every route is registered (`Router.routes`), so that a request no route answered can
/// be told apart: a path that is no route (404) or a route that does not take its method
/// (405, with `Allow`).
///
/// Hummingbird's trie answers both with the same empty 404 and keeps its endpoints to itself;
/// this matches paths the way it does (segments split on `/`, empty ones skipped, constants
/// compared exactly, `:name` parameters match any segment).
struct APIRouteTable: Sendable {
    struct Route: Sendable {
        let path: RouterPath
        let methods: Set<HTTPRequest.Method>
    }

    let routes: [Route]

    /// The `/v1` routes among `registered` (path and method pairs, as `Router.routes` lists them).
    init(_ registered: [(path: RouterPath, method: HTTPRequest.Method)]) {
        var paths: [String: RouterPath] = [:]
        var methods: [String: Set<HTTPRequest.Method>] = [:]
        for route in registered where Self.isAPIPath(route.path.description) {
            let key = route.path.description
            paths[key] = route.path
            methods[key, default: []].insert(route.method)
        }
        routes = paths.keys.sorted().compactMap { key in
            paths[key].map { Route(path: $0, methods: methods[key] ?? []) }
        }
    }

    /// `/v1` and everything under it (empty segments skipped, as the router does): the API,
    /// where every answer is JSON.
    static func isAPIPath(_ path: String) -> Bool {
        path.split(separator: "/", omittingEmptySubsequences: true).first == "v1"
    }

    /// The methods the routes matching `path` take, `HEAD` with every `GET` (the router makes
    /// those), sorted; nil when no route matches.
    func allowedMethods(forPath path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var allowed: Set<HTTPRequest.Method> = []
        var matched = false
        for route in routes where Self.matches(route.path, segments) {
            matched = true
            allowed.formUnion(route.methods)
        }
        guard matched else { return nil }
        if allowed.contains(.get) { allowed.insert(.head) }
        return allowed.sorted { $0.rawValue < $1.rawValue }
    }

    private static func matches(_ pattern: RouterPath, _ segments: [Substring]) -> Bool {
        guard pattern.components.count == segments.count else { return false }
        return zip(pattern.components, segments).allSatisfy { element, segment in element ~= segment }
    }
}
