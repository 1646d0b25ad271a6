import Foundation

/// Runs a program to its end without blocking Swift's cooperative threads (there are only
/// as many as cores; a blocked one can starve the broker under test). The blocking reads
/// and the wait happen on a thread of their own.
struct ChildProcess {
    let status: Int32
    let stdout: Data
    let stderr: Data

    static func run(_ arguments: [String]) async throws -> ChildProcess {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
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
