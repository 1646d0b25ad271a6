import ServiceLifecycle

/// Expires waiting sessions once their join code dies, and on graceful shutdown ends
/// every live session with `broker-shutdown` before the server stops.
struct SessionSweeper: Service {
    let hub: SessionHub
    let interval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await hub.sweep()
            }
        }
        await hub.shutDown()
    }
}
