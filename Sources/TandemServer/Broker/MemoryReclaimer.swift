import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Gives freed heap memory back to the system after connections close.
///
/// glibc's allocator keeps what a burst of connections freed in its arenas (one per thread
/// that allocated, up to 8 per core) rather than returning it, so a broker's resident
/// memory stays at its peak after the sessions end. This service checks every `interval`
/// and, when the number of open connections fell by at least `threshold` since the last
/// check that trimmed (or reached zero), calls `malloc_trim(0)`. Elsewhere it does nothing.
struct MemoryReclaimer: Service {
    let connectionCount: @Sendable () -> Int
    var interval: Duration = .seconds(10)
    var threshold = 64
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var high = connectionCount()
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let now = connectionCount()
                high = max(high, now)
                guard high - now >= threshold || (now == 0 && high > 0) else { continue }
                Self.trim()
                logger.debug("Returned freed memory to the system", metadata: ["tandem.connections": "\(now)"])
                high = now
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
