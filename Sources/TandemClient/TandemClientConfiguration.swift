import NIOSSL
import TandemProtocol

/// Where the broker is and how to trust it.
public struct TandemClientConfiguration: Sendable {
    /// Base URL of the broker: `https://host:port` (or `http://` for `--insecure-plaintext` brokers).
    public var serverURL: String = "https://127.0.0.1:8443"
    /// A PEM file of CA certificates to trust besides the system's, e.g. the dev CA `tandem-data/certs/ca.pem`.
    public var caFile: String?
    /// Sent in `hello.client` and recorded in the session log.
    public var clientName: String = "tandem-swift/0.1"
    /// Largest WebSocket message accepted from the broker.
    public var maxMessageSize: Int = 4 << 20

    public init(serverURL: String = "https://127.0.0.1:8443", caFile: String? = nil) {
        self.serverURL = serverURL
        self.caFile = caFile
    }

    var trimmedServerURL: String {
        serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
    }

    var isTLS: Bool { trimmedServerURL.lowercased().hasPrefix("https://") }

    /// `wss://host:port/v1/ws` for `https://host:port`.
    var webSocketURL: String {
        let base = trimmedServerURL
        let scheme = isTLS ? "wss://" : "ws://"
        let rest = base.split(separator: "://", maxSplits: 1).last.map(String.init) ?? base
        return scheme + rest + TandemWire.webSocketPath
    }

    /// The host of ``serverURL``, without brackets.
    var host: String {
        let rest = trimmedServerURL.split(separator: "://", maxSplits: 1).last.map(String.init) ?? trimmedServerURL
        let authority = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? rest
        if authority.hasPrefix("["), let end = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<end])
        }
        return authority.split(separator: ":").first.map(String.init) ?? authority
    }

    /// TLS forbids IP addresses in SNI. For a loopback IP the certificate is checked for
    /// the name `localhost` (the development certificate carries both); other IP literals
    /// need a host name.
    func sniHostname() throws -> String? {
        guard isTLS else { return nil }
        let host = self.host
        let isIPv4 = host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil }
        let isIPv6 = host.contains(":")
        guard isIPv4 || isIPv6 else { return nil }
        guard host.hasPrefix("127.") || host == "::1" else {
            throw TandemClientError("use a host name, not the IP address \(host), to reach a TLS broker")
        }
        return "localhost"
    }

    func tlsConfiguration() throws -> TLSConfiguration? {
        guard isTLS else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caFile {
            tls.additionalTrustRoots = [.file(caFile)]
        }
        return tls
    }
}

/// A client-side usage error, such as an unusable server URL.
public struct TandemClientError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
