import Foundation
import NIOConcurrencyHelpers

extension Process {
    /// One launch at a time in the test process: Foundation's `Process.run()` on Linux once
    /// crashed (a bad read in its memcpy) while another test launched a program at the same
    /// moment; the suites start many (brokers, curl, python, the CLI).
    private static let launchLock = NIOLock()

    func runSerialized() throws {
        try Self.launchLock.withLock { try run() }
    }
}

/// Runs a program to its end without blocking Swift's cooperative threads (there are only
/// as many as cores; a blocked one can starve the broker under test). The blocking reads
/// and the wait happen on a thread of their own.
struct ChildProcess {
    let status: Int32
    let stdout: Data
    let stderr: Data

    static func run(_ arguments: [String]) async throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.runSerialized()
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let stderrBox = DataBox()
                let reader = Thread {
                    stderrBox.data = errors.fileHandleForReading.readDataToEndOfFile()
                    stderrBox.done.signal()
                }
                reader.start()
                let stdout = output.fileHandleForReading.readDataToEndOfFile()
                stderrBox.done.wait()
                process.waitUntilExit()
                continuation.resume(returning: ChildProcess(status: process.terminationStatus, stdout: stdout, stderr: stderrBox.data))
            }
        }
    }
}

private final class DataBox: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
