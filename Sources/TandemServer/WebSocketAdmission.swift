import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Who may open a WebSocket: browsers only from allowed origins, and at most
/// `maxConnectionsPerAddress` connections per address. A refusal stops the upgrade; the
/// client gets hummingbird-websocket's failed-upgrade answer (HTTP 400). Clients that are not web pages (no `Origin`, or a `ws(s)://` one) pass the origin check.
final class WebSocketAdmission: Sendable {
    let configuration: BrokerConfiguration
    let metrics: BrokerMetrics
    private let perAddress = NIOLockedValueBox([String: Int]())

    init(configuration: BrokerConfiguration, metrics: BrokerMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Throws the refusal (403 or 429) for a WebSocket upgrade request.
    func check(_ request: Request, address: String?) throws {
        if let origin = request.headers[.origin], !isAllowed(origin: origin, host: request.head.authority) {
            metrics.upgradeRefused("forbidden-origin")
            throw APIError(status: .forbidden, code: "forbidden-origin", message: "pages from this origin may not connect")
        }
        if let address, perAddress.withLockedValue({ $0[address, default: 0] }) >= configuration.maxConnectionsPerAddress {
            metrics.upgradeRefused("too-many-connections")
            throw APIError(status: .tooManyRequests, code: "too-many-connections", message: "too many connections from this address")
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
