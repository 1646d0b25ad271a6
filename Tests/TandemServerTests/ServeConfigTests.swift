import Foundation
import Testing

/// `tandem serve --config FILE` (deploy/tandem.toml): the file's settings apply, a flag or a
/// `TANDEM_*` variable overrides them, `--print-config` shows the result with the database
/// password redacted, and a wrong file is refused naming the key — before anything starts.
@Suite("tandem serve --config: a TOML file by concern, overridden by flags and TANDEM_*", .timeLimit(.minutes(2)))
struct ServeConfigTests {
    let directory = NSTemporaryDirectory() + "tandem-config-\(UUID().uuidString)"

    func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (code: Int32, text: String) {
        let process = try CLIProcess.start(arguments, token: "", in: directory, environment: environment)
        let code = try await process.waitForExit(seconds: 30)
        return (code, process.text)
    }

    @Test("the file's values, a flag over the file, TANDEM_PORT over the file, the password redacted")
    func effective() async throws {
        let file = try write(
            "tandem.toml",
            """
            [server]
            host = "127.0.0.1"
            port = 9443
            allow_origin = ["https://support.example.com", "https://desk.example.com"]

            [storage]
            data_dir = "\(directory)/data"
            database = "postgres://tandem:pa55word@db.example:5432/tandem"

            [limits]
            control_rate = 40
            unsent_bytes = 32768

            [join_guessing]
            join_first_wait = 1.5
            """
        )
        let (code, text) = try await run(["serve", "--config", file, "--print-config", "--control-rate", "25"])
        #expect(code == 0, "\(text)")
        #expect(text.contains("port = 9443"))
        #expect(text.contains(#"allow_origin = ["https://support.example.com", "https://desk.example.com"]"#))
        #expect(text.contains("unsent_bytes = 32768"))
        #expect(text.contains("join_first_wait = 1.5"))
        #expect(text.contains("control_rate = 25"), "the flag wins over the file")
        #expect(!text.contains("pa55word"), "the database password never shows")
        #expect(text.contains(#"database = "postgres://db.example:5432/tandem""#))
        // Every option is in the output, in its table.
        for table in ["[server]", "[tls]", "[storage]", "[cluster]", "[sessions]", "[queue]", "[webhooks]", "[limits]", "[join_guessing]"] {
            #expect(text.contains(table))
        }
        let overridden = try await run(["serve", "--config", file, "--print-config"], environment: ["TANDEM_PORT": "7444"])
        #expect(overridden.text.contains("port = 7444"), "TANDEM_PORT wins over the file: \(overridden.text)")
    }

    @Test("unknown keys, keys in the wrong table, wrong types and bad TOML are refused naming the key (exit 64)")
    func refused() async throws {
        let cases: [(String, String)] = [
            ("[limits]\ncontrol_ratee = 3\n", "unknown key [limits] control_ratee"),
            ("[server]\ncontrol_rate = 3\n", "unknown key [server] control_rate (it belongs in [limits])"),
            ("[server]\nport = \"x\"\n", "[server] port must be an integer"),
            ("[server]\nallow_origin = \"*\"\n", "[server] allow_origin must be an array of strings"),
            ("port = 1\n", "`port` must be in a table"),
            ("[server\nport = 1\n", "line 1"),
        ]
        for (index, (text, message)) in cases.enumerated() {
            let file = try write("bad-\(index).toml", text)
            let (code, output) = try await run(["serve", "--config", file])
            #expect(code == 64, "\(text): \(output)")
            #expect(output.contains(message), "\(text): \(output)")
        }
        let missing = try await run(["serve", "--config", directory + "/nowhere.toml"])
        #expect(missing.code == 64 && missing.text.contains("cannot read the config file"))
    }

    @Test("a broker started from the config file listens where the file says and keeps its data there")
    func serves() async throws {
        let data = directory + "/served"
        let file = try write(
            "serve.toml",
            """
            [server]
            port = 0
            [storage]
            data_dir = "\(data)"
            """
        )
        let broker = try CLIProcess.start(["serve", "--config", file], token: "", in: directory)
        defer { broker.stop() }
        try await broker.waitFor("listening on https://127.0.0.1:")
        #expect(FileManager.default.fileExists(atPath: data + "/tandem.sqlite"))
    }
}
