import Foundation
import Testing

/// An installed broker finds its pages without the build folder (issue 16): the binary
/// copied alone to PREFIX/bin with the pages in PREFIX/share/tandem/Web (what
/// scripts/install.sh lays out) serves `/agent`; copied with neither, it refuses to start and
/// says where the pages belong, instead of crashing in SwiftPM's bundle lookup.
@Suite("Installed layout: PREFIX/bin/tandem finds PREFIX/share/tandem/Web", .timeLimit(.minutes(1)))
struct InstalledLayoutTests {
    let root = NSTemporaryDirectory() + "tandem-installed-\(UUID().uuidString)"

    /// Copies the tandem binary to `prefix`/bin, and the pages to `prefix`/share/tandem/Web when asked.
    func install(prefix: String, pages: Bool) throws -> String {
        let manager = FileManager.default
        try manager.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        let binary = prefix + "/bin/tandem"
        try manager.copyItem(atPath: try BrokerProcess.binary, toPath: binary)
        if pages {
            let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Sources/TandemServer/Web").path
            try manager.createDirectory(atPath: prefix + "/share/tandem", withIntermediateDirectories: true)
            try manager.copyItem(atPath: sources, toPath: prefix + "/share/tandem/Web")
        }
        return binary
    }

    func fetch(_ url: String) async throws -> (status: String, body: String) {
        let curl = SpawnedProcess()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sk", "-o", "-", "-w", "\n%{http_code}", url]
        let output = Pipe()
        curl.standardOutput = output
        try curl.run()
        let data = await SpawnedProcess.readAll(output)
        await curl.waitForExit()
        let text = String(decoding: data, as: UTF8.self)
        let status = String(text.split(separator: "\n").last ?? "")
        return (status, text)
    }

    @Test("PREFIX/bin/tandem alone plus PREFIX/share/tandem/Web serves /agent and its scripts")
    func serves() async throws {
        let binary = try install(prefix: root + "/prefix", pages: true)
        let broker = try await BrokerProcess.start(directory: root + "/data", binary: binary)
        defer { broker.signal(SIGTERM) }
        let agent = try await fetch("https://127.0.0.1:\(broker.port)/agent")
        #expect(agent.status == "200" && agent.body.contains("Tandem agent console"), "\(agent.body.prefix(200))")
        let script = try await fetch("https://127.0.0.1:\(broker.port)/web/js/agent.js")
        #expect(script.status == "200" && script.body.contains("attachVoice"))
    }

    @Test("without its pages the binary refuses to start and says where they belong")
    func missingPages() async throws {
        let binary = try install(prefix: root + "/bare", pages: false)
        let process = SpawnedProcess()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", "0", "--data-dir", root + "/bare-data"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = await SpawnedProcess.readAll(output)
        await process.waitForExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(text.contains("share/tandem/Web"), "\(text)")
    }
}
