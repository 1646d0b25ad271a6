import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Who may connect, and how many at once from one network (an IPv4 address or an IPv6 /64):
///
/// - HTTP connections that have not upgraded to a WebSocket (this covers requests that
///   drip their body): at most ``BrokerConfiguration/Limits/httpConnectionsPerNetwork``;
///   more are closed as soon as they are accepted.
/// - WebSockets before a hello proves an agent or admin (customers, the echo endpoint,
///   anyone): ``BrokerConfiguration/Limits/anonymousWebSocketsPerNetwork``; the upgrade
///   beyond it gets HTTP 429. The slot is reserved atomically when the upgrade request is
///   checked and released when the connection closes, so concurrent upgrades cannot pass it.
/// - WebSockets of authenticated agents and admins move to their own budget,
///   ``BrokerConfiguration/Limits/authenticatedWebSocketsPerNetwork`` (a helpdesk behind
///   one NAT address), and leave the anonymous one.
///
/// Browsers only from allowed origins (HTTP 403). Clients that are not web pages (no
/// `Origin`, or a `ws(s)://` one) pass the origin check.
final class WebSocketAdmission: Sendable {
    let configuration: BrokerConfiguration
    let metrics: BrokerMetrics

    private struct Counts {
        var http: [String: Int] = [:]
        var anonymous: [String: Int] = [:]
        var authenticated: [String: Int] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    init(configuration: BrokerConfiguration, metrics: BrokerMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    struct Refusal: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String
    }

    // MARK: HTTP connections

    /// Counts a newly accepted connection; false (the caller closes it) when its network
    /// already holds the maximum of connections that have not upgraded.
    func accept(_ ticket: AdmissionTicket) -> Bool {
        guard let network = ticket.network else { return true }
        let accepted = counts.withLockedValue { counts -> Bool in
            guard counts.http[network, default: 0] < configuration.limits.httpConnectionsPerNetwork else { return false }
            counts.http[network, default: 0] += 1
            ticket.state.withLockedValue { $0.httpCounted = true }
            return true
        }
        if !accepted { metrics.upgradeRefused("too-many-http-connections") }
        return accepted
    }

    /// The connection upgraded to a WebSocket: it no longer counts as an HTTP connection.
    func upgraded(_ ticket: AdmissionTicket) {
        guard let network = ticket.network else { return }
        counts.withLockedValue { counts in
            ticket.state.withLockedValue { state in
                if state.httpCounted {
                    state.httpCounted = false
                    Self.decrement(&counts.http, network)
                }
            }
        }
    }

    // MARK: WebSocket upgrades

    /// Why a WebSocket upgrade with these headers is refused (403 for a page's Origin, 429
    /// over the anonymous cap of its network), or nil after reserving the connection's slot.
    /// Counts the refusal in /metrics.
    func admit(_ ticket: AdmissionTicket, origin: String?, host: String?) -> Refusal? {
        if let refusal = originRefusal(origin: origin, host: host) { return refusal }
        guard let network = ticket.network else { return nil }
        let reserved = counts.withLockedValue { counts -> Bool in
            ticket.state.withLockedValue { state -> Bool in
                // A second upgrade attempt on the same connection keeps the slot it has.
                if state.pool != .none { return true }
                guard counts.anonymous[network, default: 0] < configuration.limits.anonymousWebSocketsPerNetwork else { return false }
                counts.anonymous[network, default: 0] += 1
                state.pool = .anonymous
                return true
            }
        }
        if !reserved {
            metrics.upgradeRefused("too-many-connections")
            return Refusal(status: .tooManyRequests, code: "too-many-connections", message: "too many connections from this network")
        }
        return nil
    }

    /// The hello proved an agent or admin: the connection leaves the anonymous budget for the
    /// authenticated one. False when the network already holds the authenticated maximum.
    func authenticate(_ ticket: AdmissionTicket) -> Bool {
        guard let network = ticket.network else { return true }
        return counts.withLockedValue { counts -> Bool in
            ticket.state.withLockedValue { state -> Bool in
                // Closed while its hello was being checked: nothing to move, nothing to count.
                guard !state.released else { return false }
                switch state.pool {
                case .authenticated:
                    return true
                case .none, .anonymous:
                    guard counts.authenticated[network, default: 0] < configuration.limits.authenticatedWebSocketsPerNetwork else { return false }
                    if state.pool == .anonymous { Self.decrement(&counts.anonymous, network) }
                    counts.authenticated[network, default: 0] += 1
                    state.pool = .authenticated
                    return true
                }
            }
        }
    }

    /// The upgrade did not happen after all: the connection gives its WebSocket slot back.
    func releaseWebSocketSlot(_ ticket: AdmissionTicket) {
        guard let network = ticket.network else { return }
        counts.withLockedValue { counts in
            ticket.state.withLockedValue { state in
                if state.pool == .anonymous { Self.decrement(&counts.anonymous, network) }
                if state.pool == .authenticated { Self.decrement(&counts.authenticated, network) }
                state.pool = .none
            }
        }
    }

    /// The connection closed: whatever it counted in is released, once.
    func release(_ ticket: AdmissionTicket) {
        guard let network = ticket.network else { return }
        counts.withLockedValue { counts in
            ticket.state.withLockedValue { state in
                guard !state.released else { return }
                state.released = true
                if state.httpCounted { Self.decrement(&counts.http, network) }
                switch state.pool {
                case .none: break
                case .anonymous: Self.decrement(&counts.anonymous, network)
                case .authenticated: Self.decrement(&counts.authenticated, network)
                }
                state.httpCounted = false
                state.pool = .none
            }
        }
    }

    /// Connections a network holds now: HTTP, anonymous and authenticated WebSockets (tests, metrics).
    func held(network: String) -> (http: Int, anonymous: Int, authenticated: Int) {
        counts.withLockedValue { ($0.http[network, default: 0], $0.anonymous[network, default: 0], $0.authenticated[network, default: 0]) }
    }

    /// The origin check inside the upgrade, for a request the ``UpgradeGate`` did not see;
    /// hummingbird-websocket answers it with 400. (The connection count is the gate's.)
    func check(_ request: Request) throws {
        if let refusal = originRefusal(origin: request.headers[.origin], host: request.head.authority) {
            throw APIError(status: refusal.status, code: refusal.code, message: refusal.message)
        }
    }

    /// 403 for a page whose Origin is not allowed (counted in /metrics), or nil.
    private func originRefusal(origin: String?, host: String?) -> Refusal? {
        guard let origin, !isAllowed(origin: origin, host: host) else { return nil }
        metrics.upgradeRefused("forbidden-origin")
        return Refusal(status: .forbidden, code: "forbidden-origin", message: "pages from this origin may not connect")
    }

    /// Same origin (the Origin's host and port are the request's Host), or configured.
    /// Only web pages are checked: browsers send `http(s)://…` (or `null`); WebSocket
    /// libraries that fill in `ws(s)://host` are not pages.
    func isAllowed(origin: String, host: String?) -> Bool {
        let lowered = origin.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered == "null" else { return true }
        if configuration.allowedOrigins.contains("*") || configuration.allowedOrigins.contains(origin) { return true }
        guard let host, let schemeEnd = origin.range(of: "://") else { return false }
        return origin[schemeEnd.upperBound...].lowercased() == host.lowercased()
    }

    private static func decrement(_ counts: inout [String: Int], _ network: String) {
        let left = counts[network, default: 1] - 1
        counts[network] = left > 0 ? left : nil
    }
}
