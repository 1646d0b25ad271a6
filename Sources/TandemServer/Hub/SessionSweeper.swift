import ServiceLifecycle

/// Expires waiting sessions once their join code dies, records live sessions as active
/// every `activityInterval`, and on graceful shutdown ends every live session with
/// `broker-shutdown` before the server stops.
struct SessionSweeper: Service {
    let hub: SessionHub
    let interval: Duration
    let activityInterval: Duration

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastActivityRecord = ContinuousClock.now
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await hub.sweep()
                if ContinuousClock.now - lastActivityRecord >= activityInterval {
                    lastActivityRecord = .now
                    await hub.recordActivity()
                    await hub.endSessionsOfRevokedUsers()
                }
            }
        }
        await hub.shutDown()
    }
}
