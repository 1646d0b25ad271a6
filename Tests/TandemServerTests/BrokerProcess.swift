import Foundation
import TandemClient

#if canImport(Glibc)
import Glibc
#endif

/// The real `tandem serve` binary as a child process on 127.0.0.1 port 0, for tests that
/// must kill it. The binary is `.build/debug/tandem` next to these sources, or `TANDEM_BINARY`.
final class BrokerProcess: @unchecked Sendable {
    let process: SpawnedProcess
    let port: Int
    let directory: String

    var clientConfiguration: TandemClientConfiguration {
        TandemClientConfiguration(serverURL: "https://127.0.0.1:\(port)", caFile: directory + "/certs/ca.pem")
    }

    static var binary: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["TANDEM_BINARY"] { return path }
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let path = root.appendingPathComponent(".build/debug/tandem").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestFailure("\(path) is missing: run `swift build` first or set TANDEM_BINARY")
            }
            return path
        }
    }

    private init(process: SpawnedProcess, port: Int, directory: String) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts `tandem serve` on `directory` and returns once it printed its listening line.
    /// - Parameters:
    ///   - logLevel: `--log-level`; the log (standard error) goes to `logFile`, else nowhere.
    ///   - environment: added to this process's environment.
    ///   - umask: run the broker under this umask (octal, e.g. `000`), to show that the modes
    ///     of what it creates do not depend on it.
    static func start(
        directory: String,
        arguments: [String] = [],
        logLevel: String = "critical",
        logFile: String? = nil,
        environment: [String: String] = [:],
        umask: String? = nil,
        binary: String? = nil
    ) async throws -> BrokerProcess {
        let process = SpawnedProcess()
        let binary = try binary ?? Self.binary
        let serve = ["serve", "--data-dir", directory, "--port", "0", "--log-level", logLevel] + arguments
        if let umask {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "umask \(umask) && exec \"$0\" \"$@\"", binary] + serve
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = serve
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let output = Pipe()
        process.standardOutput = output
        if let logFile {
            FileManager.default.createFile(atPath: logFile, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: logFile)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        let handle = output.fileHandleForReading
        // Read on a thread of its own (blocking reads), and keep draining until the broker exits.
        let port: Int? = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var text = ""
                var resumed = false
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    guard !resumed else { continue }
                    text += String(decoding: chunk, as: UTF8.self)
                    if let range = text.range(of: "listening on https://127.0.0.1:") {
                        let digits = text[range.upperBound...].prefix { $0.isNumber }
                        if let port = Int(digits), text[range.upperBound...].dropFirst(digits.count).first != nil {
                            resumed = true
                            continuation.resume(returning: port)
                        }
                    }
                }
                if !resumed { continuation.resume(returning: nil) }
            }
        }
        guard let port else {
            throw TestFailure("tandem serve exited without listening (status \(process.isRunning ? -1 : process.terminationStatus))")
        }
        return BrokerProcess(process: process, port: port, directory: directory)
    }

    /// SIGKILL: no shutdown code runs. Returns once it is gone.
    func kill9() async {
        process.send(SIGKILL)
        await process.waitForExit()
    }

    /// SIGTERM: graceful shutdown. Returns once it has exited.
    func terminate() async {
        process.terminate()
        await process.waitForExit()
    }

    /// `signal` without waiting for the exit (for `defer`, which cannot wait).
    func signal(_ signal: Int32) {
        process.send(signal)
    }
}
