import Foundation
import TandemClient

#if canImport(Glibc)
import Glibc
#endif

/// The real `tandem serve` binary as a child process on 127.0.0.1 port 0, for tests that
/// must kill it. The binary is `.build/debug/tandem` next to these sources, or `TANDEM_BINARY`.
final class BrokerProcess: @unchecked Sendable {
    let process: Process
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

    private init(process: Process, port: Int, directory: String) {
        self.process = process
        self.port = port
        self.directory = directory
    }

    /// Starts `tandem serve` on `directory` and returns once it printed its listening line.
    static func start(directory: String, arguments: [String] = []) async throws -> BrokerProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary)
        process.arguments = ["serve", "--data-dir", directory, "--port", "0", "--log-level", "critical"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
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
        guard let port else { throw TestFailure("tandem serve exited without listening (status \(process.isRunning ? -1 : process.terminationStatus))") }
        return BrokerProcess(process: process, port: port, directory: directory)
    }

    /// SIGKILL: no shutdown code runs.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM: graceful shutdown.
    func terminate() {
        process.terminate()
        process.waitUntilExit()
    }
}
