import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Gives freed heap memory back to the system after connections close.
///
/// glibc's allocator keeps what a burst of connections freed in its arenas (one per thread
/// that allocated, up to 8 per core) rather than returning it, so a broker's resident
/// memory stays at its peak after the sessions end. Every `interval` this service looks at
/// how many connections closed since it last trimmed, and calls `malloc_trim(0)` as soon as
/// none is open and some closed (an idle broker: nothing waits on the allocator's locks
/// meanwhile), or, while connections are open, once at least `threshold` closed and
/// `spacing` passed since the last trim (a trim walks the heap under its locks). Elsewhere
/// than glibc it does nothing.
struct MemoryReclaimer: Service {
    /// Connections open now, and closed since the broker started.
    let connections: @Sendable () -> (open: Int, closed: Int)
    var interval: Duration = .seconds(1)
    var spacing: Duration = .seconds(5)
    var threshold = 256
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var closedAtTrim = connections().closed
            let clock = ContinuousClock()
            var lastTrim = clock.now
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let (open, closed) = connections()
                let closedSince = closed - closedAtTrim
                let idle = open == 0 && closedSince > 0
                let busy = closedSince >= threshold && clock.now - lastTrim >= spacing
                guard idle || busy else { continue }
                Self.trim()
                logger.debug("Returned freed memory to the system", metadata: ["tandem.connections": "\(open)"])
                closedAtTrim = closed
                lastTrim = clock.now
            }
        }
    }

    /// Returns free heap pages to the system; true when some were.
    @discardableResult
    static func trim() -> Bool {
        #if canImport(Glibc)
        // glibc's malloc.h is not part of the Glibc module: look the function up.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return false }
        typealias MallocTrim = @convention(c) (Int) -> Int32
        return unsafeBitCast(symbol, to: MallocTrim.self)(0) == 1
        #else
        return false
        #endif
    }
}
