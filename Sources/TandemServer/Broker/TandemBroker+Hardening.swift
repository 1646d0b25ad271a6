import Logging
import NIOSSL

extension TandemBroker {
    /// The TLS 1.2 cipher suites the broker offers: ECDHE key exchange with AES-GCM or
    /// ChaCha20-Poly1305 (Mozilla "intermediate" without DHE). No CBC suites, no SHA-1 MACs,
    /// no static-RSA key exchange. TLS 1.3 suites (all AEAD) are not configurable and stay.
    static let tls12CipherSuites: [NIOTLSCipher] = [
        .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]

    /// The logger handed to the HTTP/WebSocket server: at most as verbose as `debug`. At
    /// `trace` the WebSocket library prints the first bytes of every frame, which for a
    /// `hello` or `session.created` are join codes and tokens; the broker's own trace
    /// messages (which never carry secrets) still use the full level.
    static func serverLogger(_ logger: Logger) -> Logger {
        var server = logger
        if server.logLevel < .debug { server.logLevel = .debug }
        return server
    }
}

extension TandemBroker: CustomStringConvertible {
    /// What the service lifecycle prints for this service: the name, not the configuration.
    public var description: String { "TandemBroker" }
}
