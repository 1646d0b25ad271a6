import Foundation
import TandemClient
import TandemCore
import TandemProtocol
import Testing

/// `tandem join --queue` (protocol/README.md §16, §20.4) run as the real CLI: the customer is
/// told its place in line, and with `--callback` leaves a callback request once offered.
@Suite("Live TLS broker: the CLI customer waiting in the queue", .timeLimit(.minutes(2)))
struct JoinQueueCLITests {
    @Test("--callback: offered after the callback wait, the request is left with its contact, logged once, and the CLI ends well")
    func callback() async throws {
        try await LiveBroker.run(configure: { $0.routing.callbackAfter = .seconds(2) }) { broker in
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            let customer = try CLIProcess.start(
                ["join", "--queue", "--ticket", "HD-CB-CLI", "--callback", "Router blinks red", "--contact", "+41 44 000 00 00", "--consent", "no"]
                    + server,
                token: "",
                in: broker.directory
            )
            defer { customer.stop() }
            try await customer.waitFor("you are number 1 in line")
            let status = try await customer.waitForExit(seconds: 30)
            #expect(status == 0, "\(customer.text)")
            #expect(customer.text.contains("Leaving your callback request instead of waiting longer"))
            #expect(customer.text.contains("Your callback request for ticket HD-CB-CLI is recorded"))
            let logged = try await broker.store.auditEvents(since: nil, until: nil, limit: 100).filter { $0.kind == .queueCallback }
            #expect(logged.count == 1)
            #expect(logged.first?.detail["message"] == "Router blinks red")
            #expect(logged.first?.detail["contact"] == "+41 44 000 00 00")
            #expect(logged.first?.detail["ticket"] == "HD-CB-CLI")
        }
    }

    @Test("without --callback the CLI says a callback can be left, and keeps waiting")
    func callbackOfferedOnly() async throws {
        try await LiveBroker.run(configure: { $0.routing.callbackAfter = .seconds(1) }) { broker in
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            let customer = try CLIProcess.start(
                ["join", "--queue", "--ticket", "HD-CB-CLI2", "--consent", "no"] + server,
                token: "",
                in: broker.directory
            )
            defer { customer.stop() }
            try await customer.waitFor("A callback request can be left instead of waiting")
            #expect(try await broker.store.auditEvents(since: nil, until: nil, limit: 100).filter { $0.kind == .queueCallback }.isEmpty)
            #expect(customer.isRunning)
        }
    }

    @Test("--callback without --queue, --contact without --callback, and over-long ones are refused (exit 64)")
    func badOptions() async throws {
        try await LiveBroker.run { broker in
            let server = ["--server", "https://127.0.0.1:\(broker.port)", "--ca", broker.caFile]
            for (arguments, message) in [
                (["join", "482-913-557-301", "--callback", "call me"], "--callback is for waiting in the queue"),
                (["join", "--queue", "--ticket", "HD-X", "--contact", "+41"], "--contact goes with --callback"),
                (
                    ["join", "--queue", "--ticket", "HD-X", "--callback", String(repeating: "x", count: 501)],
                    "--callback is limited to 500 characters"
                ),
                (
                    ["join", "--queue", "--ticket", "HD-X", "--callback", "ok", "--contact", String(repeating: "9", count: 101)],
                    "--contact is limited to 100"
                ),
                (["join", "--queue", "--ticket", "HD-X", "--callback", "  "], "--callback needs a message"),
            ] {
                let run = try CLIProcess.start(arguments + server, token: "", in: broker.directory)
                let status = try await run.waitForExit(seconds: 30)
                #expect(status == 64, "\(arguments.prefix(4)): \(run.text)")
                #expect(run.text.contains(message), "\(run.text)")
            }
        }
    }
}
