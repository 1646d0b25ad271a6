import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Who may open a WebSocket: browsers only from allowed origins, and at most
/// `maxConnectionsPerAddress` connections per address. The ``UpgradeGate`` refuses before
/// the upgrade with 403 or 429. Clients that are not web pages (no `Origin`, or a `ws(s)://`
/// one) pass the origin check.
final class WebSocketAdmission: Sendable {
    let configuration: BrokerConfiguration
    let metrics: BrokerMetrics
    private let perAddress = NIOLockedValueBox([String: Int]())

    init(configuration: BrokerConfiguration, metrics: BrokerMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    struct Refusal: Error {
        var status: HTTPResponse.Status
        var code: String
        var message: String
    }

    /// Why a WebSocket upgrade with these headers from `address` is refused (403 for a
    /// page's Origin, 429 over the per-address cap), or nil. Counts the refusal in /metrics.
    func refusal(origin: String?, host: String?, address: String?) -> Refusal? {
        if let origin, !isAllowed(origin: origin, host: host) {
            metrics.upgradeRefused("forbidden-origin")
            return Refusal(status: .forbidden, code: "forbidden-origin", message: "pages from this origin may not connect")
        }
        if let address, perAddress.withLockedValue({ $0[address, default: 0] }) >= configuration.maxConnectionsPerAddress {
            metrics.upgradeRefused("too-many-connections")
            return Refusal(status: .tooManyRequests, code: "too-many-connections", message: "too many connections from this address")
        }
        return nil
    }

    /// The same check inside the upgrade, for a request the ``UpgradeGate`` did not see
    /// (a later request on a kept-alive connection); hummingbird-websocket answers it with 400.
    func check(_ request: Request, address: String?) throws {
        if let refusal = refusal(origin: request.headers[.origin], host: request.head.authority, address: address) {
            throw APIError(status: refusal.status, code: refusal.code, message: refusal.message)
        }
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

    func opened(_ address: String?) {
        guard let address else { return }
        perAddress.withLockedValue { $0[address, default: 0] += 1 }
    }

    func closed(_ address: String?) {
        guard let address else { return }
        perAddress.withLockedValue { counts in
            let left = counts[address, default: 1] - 1
            counts[address] = left > 0 ? left : nil
        }
    }
}
