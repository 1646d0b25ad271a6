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
/// how many connections closed since it last trimmed: at least `threshold`, or any once
/// none is open, and it calls `malloc_trim(0)`. Elsewhere than glibc it does nothing.
struct MemoryReclaimer: Service {
    /// Connections open now, and closed since the broker started.
    let connections: @Sendable () -> (open: Int, closed: Int)
    var interval: Duration = .seconds(5)
    var threshold = 256
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var closedAtTrim = connections().closed
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let (open, closed) = connections()
                let closedSince = closed - closedAtTrim
                guard closedSince >= threshold || (open == 0 && closedSince > 0) else { continue }
                Self.trim()
                logger.debug("Returned freed memory to the system", metadata: ["tandem.connections": "\(open)"])
                closedAtTrim = closed
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
