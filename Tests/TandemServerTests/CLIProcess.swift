import Foundation
import Synchronization

/// The real `tandem` binary running a command that stays attached (`tandem session start`):
/// its standard output and error are collected as they come, on a thread of their own, so a
/// test can wait for a line while the command runs, then for its exit.
final class CLIProcess: @unchecked Sendable {
    private let process: SpawnedProcess
    /// The writing end of its standard input (`input: true`); otherwise it reads `/dev/null`.
    private let input: FileHandle?
    private let collected = Mutex(Data())
    private let exited = Mutex(false)

    private init(process: SpawnedProcess, input: FileHandle?) {
        self.process = process
        self.input = input
    }

    /// Starts `tandem ARGUMENTS` with `TANDEM_TOKEN` set to `token` (and `environment`), in
    /// `directory`; with `input`, its standard input is a pipe that ``typeLine(_:)`` writes to.
    static func start(
        _ arguments: [String],
        token: String,
        in directory: String,
        environment extra: [String: String] = [:],
        input: Bool = false
    ) throws -> CLIProcess {
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: try BrokerProcess.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        environment["TANDEM_TOKEN"] = token
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let inputPipe = input ? Pipe() : nil
        if let inputPipe {
            process.standardInput = inputPipe
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        // Both streams in one pipe: what the terminal would show.
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let running = CLIProcess(process: process, input: inputPipe?.fileHandleForWriting)
        let handle = output.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                running.collected.withLock { $0.append(chunk) }
            }
            process.waitUntilExit()
            running.exited.withLock { $0 = true }
        }
        return running
    }

    /// Everything printed so far, as bytes.
    var output: Data { collected.withLock { $0 } }

    /// Everything printed so far, as text.
    var text: String { String(decoding: output, as: UTF8.self) }

    /// Whether the command still runs.
    var isRunning: Bool { !exited.withLock { $0 } && process.isRunning }

    /// Waits (up to `seconds`) until the output contains `marker`.
    func waitFor(_ marker: String, seconds: Double = 20) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if text.contains(marker) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("no \(marker.debugDescription) within \(Int(seconds)) s; printed: \(text.debugDescription)")
    }

    /// Waits for a line containing `label` and returns the rest of that line, trimmed.
    func value(after label: String, seconds: Double = 20) async throws -> String {
        try await waitFor(label, seconds: seconds)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let text = self.text
            if let range = text.range(of: label), let end = text[range.upperBound...].firstIndex(of: "\n") {
                return text[range.upperBound..<end].trimmingCharacters(in: .whitespaces)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the line with \(label.debugDescription) never ended; printed: \(text.debugDescription)")
    }

    /// Waits (up to `seconds`) for the command to exit and returns its status; stops it
    /// (SIGTERM) and throws when it is still running then.
    func waitForExit(seconds: Double = 20) async throws -> Int32 {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if exited.withLock({ $0 }) { return process.terminationStatus }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw TestFailure("still running after \(Int(seconds)) s; printed: \(text.debugDescription)")
    }

    /// Writes `line` and a line feed to its standard input, as typed at a terminal.
    func typeLine(_ line: String) throws {
        guard let input else { throw TestFailure("started without input: true") }
        guard !exited.withLock({ $0 }), process.isRunning else {
            throw TestFailure("exited before \(line.debugDescription) was typed; printed: \(text.debugDescription)")
        }
        try input.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Writes `text` to its standard input and closes it: typed ahead, then the end of input.
    func typeAhead(_ text: String) throws {
        guard let input else { throw TestFailure("started without input: true") }
        try input.write(contentsOf: Data(text.utf8))
        try input.close()
    }

    /// SIGTERM if it still runs.
    func stop() {
        guard !exited.withLock({ $0 }), process.isRunning else { return }
        process.terminate()
    }
}
