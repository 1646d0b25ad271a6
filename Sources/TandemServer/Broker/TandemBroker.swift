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
            ws: .init(maxFrameSize: configuration.limits.maxMessageSize, autoPing: .enabled(timePeriod: configuration.pingInterval), validateUTF8: true)
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

    public func run() async throws {
        // One broker per data directory: a second one would close this one's live sessions
        // as broker-crash. Taken before anything is read or written; held until run returns.
        // Released here only when taken here: a caller that passed its lock keeps it.
        let ownLock = dataDirectoryLock == nil ? try DataDirectoryLock.acquire(directory: configuration.dataDirectory, logger: logger) : nil
        defer { ownLock?.release() }
        // Before anything is written: the log must hold what this broker signed (§11.7).
        let key = try AuditSigningKey.loadOrCreate(directory: configuration.dataDirectory, logger: logger)
        try await key.head.checkAtStart(store: store, signer: key.signer, acceptRollback: configuration.acceptRolledBackLog, logger: logger)
        let closed = try await store.closeOpenSessions(reason: .brokerCrash)
        if closed > 0 {
            logger.warning("Closed sessions left open by an earlier broker", metadata: ["tandem.sessions.closed": "\(closed)"])
        }
        // Their recordings (and any whose close was lost) are closed and hashed into the log (§19).
        try await RecordingRecovery(directory: configuration.dataDirectory + "/recordings", store: store, logger: logger).run()
        try await WebhookDispatcher.startCursors(store: store, targets: configuration.webhooks)
        let recorder = RecordingWriter(
            directory: configuration.dataDirectory + "/recordings", store: store, capacity: configuration.recordingQueueCapacity, logger: logger
        )
        let hub = SessionHub(
            store: store, configuration: configuration, logger: logger, metrics: statistics.metrics, recorder: recorder,
            helpLinks: HelpLinkSigner(deriving: key.signer)
        )
        statistics.readOverlayBytes { await hub.overlayBytes() }
        let router = Router(context: BasicRequestContext.self)
        BrokerAPI(hub: hub, signingKey: key, web: try WebPages(root: configuration.webRoot), recordings: recorder.directory).register(on: router)

        let webSocketRouter = Router(context: RelayRequestContext.self)
        let admission = WebSocketAdmission(configuration: configuration, metrics: statistics.metrics)
        let relay = RelayConnection(hub: hub, configuration: configuration, admission: admission, statistics: statistics, logger: logger)
        webSocketRouter.ws(RouterPath(TandemWire.webSocketPath)) { request, context in
            try admission.check(request)
            let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            return offered.contains(TandemWire.subprotocol) ? .upgrade([.secWebSocketProtocol: TandemWire.subprotocol]) : .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await relay.run(inbound: inbound, outbound: outbound, channel: context.requestContext.channel)
        }
        let echo = EchoConnection(configuration: configuration, logger: logger)
        webSocketRouter.ws(RouterPath(TandemWire.echoPath)) { request, context in
            try admission.check(request)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await echo.run(inbound: inbound, outbound: outbound)
        }

        let scheme = configuration.transportSecurity == .insecurePlaintext ? "http" : "https"
        let configuration = self.configuration
        let onServerRunning = self.onServerRunning
        let app = Application(
            router: router,
            server: try makeServer(webSocketRouter: webSocketRouter, admission: admission),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                await hub.setJoinBaseURL(configuration.publicURL ?? "\(scheme)://\(host):\(port)")
                await onServerRunning(port)
            },
            logger: Self.serverLogger(logger)
        )
        // Services stop in reverse order. The sweeper stops first: sessions end with
        // broker-shutdown and participants get close 1001 while the server still runs;
        // then the checkpointer signs the final head; then the server drains.
        let sweeper = SessionSweeper(hub: hub, interval: configuration.sweepInterval, activityInterval: configuration.activityRecordInterval)
        let checkpointer = AuditCheckpointer(store: store, signer: key.signer, head: key.head, interval: configuration.checkpointInterval, logger: logger)
        // The recorder stops after the sweeper (recordings of sessions ended by the shutdown
        // are closed) and before the checkpointer (their hashes are under the last checkpoint).
        var services: [any Service] = [app, checkpointer, recorder]
        if let registry = store as? any BrokerRegistry {
            services.append(BrokerHeartbeat(registry: registry, hub: hub, configuration: configuration, logger: logger))
        }
        if !configuration.webhooks.isEmpty {
            services.append(WebhookDispatcher(store: store, configuration: configuration, logger: logger))
        }
        services.append(sweeper)
        var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}
