import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Tandem broker: HTTPS API and WSS relay in one Hummingbird application.
///
/// Run it in a `ServiceGroup`; on graceful shutdown (SIGTERM) live sessions are ended
/// with `broker-shutdown` and their participants get `session.ended` and close 1001.
public struct TandemBroker: Service {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    let configuration: BrokerConfiguration
    let store: any TandemStore
    let logger: Logger
    let onServerRunning: @Sendable (Int) async -> Void
    let statistics: BrokerStatistics
    /// The lock on the data directory, when the caller took it before opening anything
    /// (`tandem serve`); nil takes it at the start of ``run()``.
    let dataDirectoryLock: DataDirectoryLock?

    /// - Parameters:
    ///   - dataDirectoryLock: the data directory's lock if the caller already holds it;
    ///     otherwise ``run()`` takes it (and fails when another broker holds it).
    ///   - onServerRunning: called with the bound port once the server listens.
    public init(
        configuration: BrokerConfiguration,
        store: any TandemStore,
        logger: Logger,
        statistics: BrokerStatistics = BrokerStatistics(),
        dataDirectoryLock: DataDirectoryLock? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.dataDirectoryLock = dataDirectoryLock
        self.configuration = configuration
        self.store = store
        self.logger = logger
        self.statistics = statistics
        self.onServerRunning = onServerRunning
    }

    /// Checks the configuration and loads or creates certificates. Returns the server builder.
    func makeServer(webSocketRouter: Router<RelayRequestContext>, admission: WebSocketAdmission) throws -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        let channelConfiguration = HTTP1WebSocketUpgradeChannel.Configuration(
            // An idle HTTPS connection (after a request) is closed after 30 s.
            http1: .init(idleTimeout: TimeAmount(configuration.limits.httpIdleTimeout)),
            ws: .init(
                maxFrameSize: configuration.limits.maxMessageSize,
                autoPing: .enabled(timePeriod: configuration.pingInterval),
                validateUTF8: true
            )
        )
        let upgrade = HTTPServerBuilder { responder in
            AdmissionChannel(
                base: HTTP1WebSocketUpgradeChannel(responder: responder, webSocketResponder: webSocketResponder, configuration: channelConfiguration),
                admission: admission,
                configuration: configuration
            )
        }
        switch configuration.transportSecurity {
        case .insecurePlaintext:
            guard configuration.isLoopback else {
                throw Error(description: "--insecure-plaintext is only allowed on a loopback address, not \(configuration.host)")
            }
            return upgrade
        case .certificateFiles(let certificate, let key):
            return try .tls(upgrade, tlsConfiguration: try Self.tlsConfiguration(certificate: certificate, key: key))
        case .developmentCertificate:
            var dev = DevCertificates(directory: configuration.dataDirectory + "/certs")
            try dev.ensure(hostnames: [configuration.host], logger: logger)
            return try .tls(upgrade, tlsConfiguration: try Self.tlsConfiguration(certificate: dev.certificatePath, key: dev.keyPath))
        }
    }

    static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate)
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
            tls.minimumTLSVersion = .tlsv12
            // TLS 1.2: AEAD suites with forward secrecy only (no CBC, no SHA-1 MAC, no RSA key
            // exchange); TLS 1.3 suites are all AEAD and not configurable.
            tls.cipherSuiteValues = Self.tls12CipherSuites
            // A peer that does not answer close_notify within a second is gone (half-open):
            // do not hold its session in limbo for NIOSSL's default five seconds.
            tls.shutdownTimeout = .seconds(1)
            return tls
        } catch {
            throw Error(description: "cannot load the TLS certificate \(certificate) or key \(key): \(error)")
        }
    }

    /// Runs the broker until graceful shutdown: prepares the data directory and the log,
    /// then serves the application of ``buildApplication()`` together with the sweeper, the
    /// checkpointer, the recording writer (and the heartbeat and webhook dispatcher when used).
    public func run() async throws {
        // One broker per data directory: a second one would close this one's live sessions
        // as broker-crash. Taken before anything is read or written; held until run returns.
        // Released here only when taken here: a caller that passed its lock keeps it.
        let ownLock = dataDirectoryLock == nil ? try DataDirectoryLock.acquire(directory: configuration.dataDirectory, logger: logger) : nil
        defer { ownLock?.release() }
        let runtime = try await prepare()
        let app = try buildApplication(runtime)
        // Services stop in reverse order. The sweeper stops first: sessions end with
        // broker-shutdown and participants get close 1001 while the server still runs;
        // then the checkpointer signs the final head; then the server drains.
        let sweeper = SessionSweeper(hub: runtime.hub, interval: configuration.sweepInterval, activityInterval: configuration.activityRecordInterval)
        let checkpointer = AuditCheckpointer(
            store: store,
            signer: runtime.key.signer,
            head: runtime.key.head,
            tree: runtime.tree,
            anchors: AuditAnchors(configuration: configuration, logger: logger),
            interval: configuration.checkpointInterval,
            logger: logger
        )
        // The recorder stops after the sweeper (recordings of sessions ended by the shutdown
        // are closed) and before the checkpointer (their hashes are under the last checkpoint).
        var services: [any Service] = [app, checkpointer, runtime.recorder]
        if let registry = store as? any BrokerRegistry {
            services.append(BrokerHeartbeat(registry: registry, hub: runtime.hub, configuration: configuration, logger: logger))
        }
        if !configuration.webhooks.isEmpty {
            services.append(WebhookDispatcher(store: store, configuration: configuration, logger: logger, metrics: statistics.metrics))
        }
        services.append(
            MemoryReclaimer(
                connections: { [hub = runtime.hub] in (hub.connectionCount, hub.connectionsClosed.load(ordering: .relaxed)) },
                logger: logger
            )
        )
        services.append(sweeper)
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}
