import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Building the broker's Hummingbird application, apart from running it (``TandemBroker/run()``).
extension TandemBroker {
    /// Builds the Hummingbird application this broker serves: the HTTPS API, the browser pages,
    /// health and metrics (``buildRouter(_:)``); the WSS relay and `/v1/echo` behind the
    /// admission checks; TLS as configured. Tests send requests to it with HummingbirdTesting
    /// (`app.test(.router) { client in … }`).
    ///
    /// Does first what ``run()`` does before it serves: takes the data directory's lock (unless
    /// the broker was given one), loads or makes the audit signing key and checks the log
    /// against what it signed (§11.7), closes the sessions an earlier broker left open
    /// (`broker-crash`) and their recordings (§19). The lock taken here is held as long as the
    /// application exists.
    ///
    /// The application carries no services: the sweeper, the checkpointer, the recording
    /// writer, the heartbeat and the webhook dispatcher run only under ``run()``, which serves
    /// this same application among them. So without them waiting sessions do not expire,
    /// checkpoints are not signed and recordings are not written; run the broker with ``run()``.
    public func buildApplication() async throws -> some ApplicationProtocol {
        let ownLock = dataDirectoryLock == nil ? try DataDirectoryLock.acquire(directory: configuration.dataDirectory, logger: logger) : nil
        let runtime = try await prepare()
        return try buildApplication(runtime, holding: ownLock)
    }

    /// Start-up, before anything is served; the caller holds the data directory's lock.
    func prepare() async throws -> BrokerRuntime {
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
        // Evidence bundles left by a broker that stopped while sending them (§11.9).
        try? FileManager.default.removeItem(atPath: configuration.dataDirectory + "/bundles")
        let recorder = RecordingWriter(
            directory: configuration.dataDirectory + "/recordings",
            store: store,
            capacity: configuration.recordingQueueCapacity,
            logger: logger,
            metrics: statistics.metrics
        )
        let hub = SessionHub(
            store: store,
            configuration: configuration,
            logger: logger,
            metrics: statistics.metrics,
            recorder: recorder,
            helpLinks: HelpLinkSigner(deriving: key.signer),
            surveys: SurveyTokenSigner(deriving: key.signer)
        )
        statistics.readOverlayBytes { await hub.overlayBytes() }
        return BrokerRuntime(key: key, recorder: recorder, hub: hub, tree: AuditTree(store: store, logger: logger))
    }

    /// The application over `runtime`. `lock`, when given, is kept as long as the application.
    func buildApplication(
        _ runtime: BrokerRuntime,
        holding lock: DataDirectoryLock? = nil
    ) throws -> Application<RouterResponder<BasicRequestContext>> {
        let router = try buildRouter(runtime)
        let admission = WebSocketAdmission(configuration: configuration, metrics: statistics.metrics)
        let webSocketRouter = buildWebSocketRouter(runtime, admission: admission)

        let scheme = configuration.transportSecurity == .insecurePlaintext ? "http" : "https"
        let configuration = self.configuration
        let onServerRunning = self.onServerRunning
        let hub = runtime.hub
        return Application(
            router: router,
            server: try makeServer(webSocketRouter: webSocketRouter, admission: admission),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                // Captured so that a lock taken for this application lives as long as it does.
                _ = lock
                let port = channel.localAddress?.port ?? configuration.port
                let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                await hub.setJoinBaseURL(configuration.publicURL ?? "\(scheme)://\(host):\(port)")
                await onServerRunning(port)
            },
            logger: Self.serverLogger(logger)
        )
    }

    /// The HTTP router: the HTTPS API (protocol/README.md §9), the browser pages and their
    /// scripts and styles (§12), `/healthz`, `/readyz` and `/metrics`.
    func buildRouter(_ runtime: BrokerRuntime) throws -> Router<BasicRequestContext> {
        // HEAD for every GET route, with the GET's status and headers (RFC 9110 §9.3.2).
        let router = Router(context: BasicRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.middlewares.add(RequestTracingMiddleware(continuesTraceparent: configuration.traceIncomingContext))
        BrokerAPI(
            hub: runtime.hub,
            signingKey: runtime.key,
            tree: runtime.tree,
            web: try WebPages(root: configuration.webRoot),
            recordings: runtime.recorder.directory
        )
        .register(on: router)
        return router
    }

    /// The WebSocket router: the relay (`/v1/ws`, §1) and `/v1/echo`, each upgrade checked by `admission`.
    func buildWebSocketRouter(_ runtime: BrokerRuntime, admission: WebSocketAdmission) -> Router<RelayRequestContext> {
        let webSocketRouter = Router(context: RelayRequestContext.self)
        let relay = RelayConnection(hub: runtime.hub, configuration: configuration, admission: admission, statistics: statistics, logger: logger)
        webSocketRouter.ws(RouterPath(TandemWire.webSocketPath)) { request, context in
            try admission.check(request)
            let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces) }
            return offered.contains(TandemWire.subprotocol) ? .upgrade([.secWebSocketProtocol: TandemWire.subprotocol]) : .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            // Gone already: the connection closed before its handler started.
            guard let channel = context.requestContext.channel else { return }
            // The reader runs on the channel's event loop (EventLoopTaskExecutor).
            try await withTaskExecutorPreference(EventLoopTaskExecutor(channel.eventLoop)) {
                try await relay.run(inbound: inbound, outbound: outbound, channel: channel)
            }
        }
        let echo = EchoConnection(configuration: configuration, logger: logger)
        webSocketRouter.ws(RouterPath(TandemWire.echoPath)) { request, context in
            try admission.check(request)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            try await echo.run(inbound: inbound, outbound: outbound)
        }
        return webSocketRouter
    }
}
