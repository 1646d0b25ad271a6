import Hummingbird
import Testing

/// A plain-HTTP Hummingbird server on 127.0.0.1 port 0 for a test's far end (a helpdesk's
/// webhook receiver, an OpenTelemetry collector): runs `router` around `body`, which gets
/// the base URL (`http://127.0.0.1:PORT`), and stops when it returns.
enum LocalHTTPServer {
    static func run<T: Sendable>(_ router: Router<BasicRequestContext>, _ body: @Sendable (String) async throws -> T) async throws -> T {
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            }
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            defer { group.cancelAll() }
            return try await body("http://127.0.0.1:\(port)")
        }
    }
}
