import Foundation
import Glibc
import Synchronization

/// A child program started with `posix_spawn` directly, with the small part of `Process`'s
/// interface the suites use.
///
/// Foundation's `Process.run()` on Linux reads `/proc/self/fd` with a 256-byte copy of each
/// `dirent` (`findMaximumOpenFromProcSelfFD`), which over-reads glibc's buffer and crashes now
/// and then in a process with many descriptors open, as this one is under the parallel run
/// (swiftlang/swift-corelibs-foundation#5472). This one closes the inherited descriptors with
/// `posix_spawn_file_actions_addclosefrom_np` instead, and reaps the child on a thread of its own.
final class SpawnedProcess: @unchecked Sendable {
    var executableURL: URL?
    var arguments: [String] = []
    /// The child's environment; nil inherits this process's.
    var environment: [String: String]?
    var currentDirectoryURL: URL?
    /// Each a `Pipe`, a `FileHandle` or nil (nil is `/dev/null`, as is `FileHandle.nullDevice`).
    var standardInput: Any?
    var standardOutput: Any?
    var standardError: Any?

    private struct State {
        var pid: pid_t = 0
        var status: Int32?
    }

    private let state = Mutex(State())
    private let exited = DispatchSemaphore(value: 0)

    init() {}

    var processIdentifier: pid_t { state.withLock { $0.pid } }

    /// True from a successful `run()` until the child has been reaped.
    var isRunning: Bool { state.withLock { $0.pid != 0 && $0.status == nil } }

    /// The exit status, or 128 + the signal that ended it; only meaningful once it has exited.
    var terminationStatus: Int32 { state.withLock { $0.status ?? -1 } }

    func run() throws {
        guard let executable = executableURL?.path else { throw TestFailure("SpawnedProcess: no executable") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let streams: [(Any?, Int32, Bool)] = [(standardInput, 0, true), (standardOutput, 1, false), (standardError, 2, false)]
        for (stream, target, isInput) in streams {
            let code: Int32
            switch stream {
            case let pipe as Pipe:
                let end = isInput ? pipe.fileHandleForReading : pipe.fileHandleForWriting
                code = posix_spawn_file_actions_adddup2(&actions, end.fileDescriptor, target)
            case let handle as FileHandle where handle !== FileHandle.nullDevice && handle.fileDescriptor >= 0:
                code = posix_spawn_file_actions_adddup2(&actions, handle.fileDescriptor, target)
            default:
                code = posix_spawn_file_actions_addopen(&actions, target, "/dev/null", isInput ? O_RDONLY : O_WRONLY, 0)
            }
            guard code == 0 else { throw TestFailure("posix_spawn file action for fd \(target): \(String(cString: strerror(code)))") }
        }
        // Nothing else leaks into the child: another child's pipe held open here would keep
        // its reader from ever seeing the end.
        guard Self.addCloseFrom(&actions, 3) == 0 else { throw TestFailure("posix_spawn_file_actions_addclosefrom_np failed") }
        if let directory = currentDirectoryURL?.path {
            guard Self.addChdir(&actions, directory) == 0 else { throw TestFailure("posix_spawn_file_actions_addchdir_np failed") }
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in variables { free(pointer) }
        }
        var spawned = pid_t()
        let code = posix_spawn(&spawned, executable, &actions, &attributes, argv, variables)
        guard code == 0 else { throw TestFailure("posix_spawn \(executable): \(String(cString: strerror(code)))") }
        let pid = spawned
        state.withLock { $0.pid = pid }

        // The child holds its ends now; this process lets go of them, as `Process` does.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe, standardError as AnyObject !== standardOutput as AnyObject {
            try? pipe.fileHandleForWriting.close()
        }

        Thread.detachNewThread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            let signal = status & 0x7f
            let result = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            state.withLock { $0.status = result }
            exited.signal()
        }
    }

    // glibc 2.34 and 2.29 extensions that Swift's Glibc module does not declare (they sit
    // behind _GNU_SOURCE); looked up once by name.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addCloseFrom: AddCloseFrom = symbol("posix_spawn_file_actions_addclosefrom_np")
    private static let addChdir: AddChdir = symbol("posix_spawn_file_actions_addchdir_np")

    private static func symbol<Function>(_ name: String) -> Function {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else { fatalError("glibc has no \(name)") }
        return unsafeBitCast(address, to: Function.self)
    }

    /// Blocks the calling thread until the child has exited.
    func waitUntilExit() {
        guard state.withLock({ $0.pid != 0 }) else { return }
        exited.wait()
        exited.signal()
    }

    /// Waits for the child's exit on a thread of its own. Blocking a thread of Swift's
    /// cooperative pool instead (two on a two-core machine) would stall every other test's
    /// tasks meanwhile: their clients miss hello deadlines, their waits time out.
    func waitForExit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                self.waitUntilExit()
                continuation.resume()
            }
        }
    }

    /// Everything `pipe` gives until its writers close it, read on a thread of its own (see
    /// ``waitForExit()``).
    static func readAll(_ pipe: Pipe) async -> Data {
        let handle = pipe.fileHandleForReading
        return await withCheckedContinuation { (continuation: CheckedContinuation<Data, Never>) in
            Thread.detachNewThread { continuation.resume(returning: handle.readDataToEndOfFile()) }
        }
    }

    /// SIGTERM, if it still runs.
    func terminate() { send(SIGTERM) }

    /// `signal`, if it still runs (the pid is not reaped, so it cannot have been reused).
    func send(_ signal: Int32) {
        state.withLock { state in
            if state.pid != 0 && state.status == nil { kill(state.pid, signal) }
        }
    }
}
