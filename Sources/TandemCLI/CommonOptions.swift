import ArgumentParser
import Foundation
import Logging
import TandemClient
import TandemProtocol

/// Where the local data lives (database, dev certificates).
struct DataOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "Data directory (env TANDEM_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["TANDEM_DATA_DIR"] ?? "./tandem-data"

    @Option(
        help:
            "postgres://user[:password]@host[:port]/database to keep the log in PostgreSQL (env TANDEM_DATABASE); default the SQLite file in --data-dir."
    )
    var database: String? = ProcessInfo.processInfo.environment["TANDEM_DATABASE"]

    var databasePath: String { dataDirectory + "/tandem.sqlite" }
}

/// How a client reaches and trusts the broker.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Broker URL (env TANDEM_SERVER).")
    var server: String = ProcessInfo.processInfo.environment["TANDEM_SERVER"] ?? "https://127.0.0.1:8443"

    @Option(help: "PEM file of a CA to trust (env TANDEM_CA; default ./tandem-data/certs/ca.pem when present).")
    var ca: String? = ProcessInfo.processInfo.environment["TANDEM_CA"]

    var clientConfiguration: TandemClientConfiguration {
        var caFile = ca
        if caFile == nil, FileManager.default.fileExists(atPath: "./tandem-data/certs/ca.pem") {
            caFile = "./tandem-data/certs/ca.pem"
        }
        var configuration = TandemClientConfiguration(serverURL: server, caFile: caFile)
        configuration.clientName = "tandem-cli/0.1"
        return configuration
    }
}

/// An API token for agents and auditors.
struct TokenOptions: ParsableArguments {
    @Option(help: "API token (env TANDEM_TOKEN). Prefer the environment: arguments show in process lists.")
    var token: String?

    func resolved() throws -> String {
        guard let value = token ?? ProcessInfo.processInfo.environment["TANDEM_TOKEN"], !value.isEmpty else {
            throw ValidationError("an API token is required: set TANDEM_TOKEN or pass --token (tandem users add prints one)")
        }
        return value
    }
}

enum CLILog {
    static func logger(_ label: String, level: Logger.Level = .warning) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = level
        return logger
    }
}

/// Writes a line to standard error. `text` is one line: its controls (line breaks, ESC …)
/// are printed as visible escapes (`TerminalText`, protocol/README.md § chat).
func printError(_ text: String) {
    // A closed pipe (`tandem … | head`) is not worth a crash.
    try? FileHandle.standardError.write(contentsOf: Data((TerminalText.escaped(text) + "\n").utf8))
}

/// Writes a line to standard output at once (no buffering, so scripts and tests see it).
/// `text` is one line (call `say` once per line): peer-supplied text in it (chat, client
/// names, notes, event details) cannot move the cursor, retitle the terminal or forge a
/// line, because every control is printed as a visible escape (`\n`, `\u{1B}`; `TerminalText`).
func say(_ text: String) {
    try? FileHandle.standardOutput.write(contentsOf: Data((TerminalText.escaped(text) + "\n").utf8))
}

/// Writes `value` as pretty-printed Tandem JSON (sorted keys, RFC 3339 dates) to standard output;
/// C1 and bidi controls inside strings as `\uXXXX` (the encoder escapes the C0 controls).
func sayJSON(_ value: some Encodable) throws {
    let encoder = TandemJSON.makeEncoder()
    encoder.outputFormatting.insert(.prettyPrinted)
    let json = TerminalText.escapedJSON(String(decoding: try encoder.encode(value), as: UTF8.self))
    try? FileHandle.standardOutput.write(contentsOf: Data((json + "\n").utf8))
}
