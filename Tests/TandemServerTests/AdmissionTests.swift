import Foundation
import Logging
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol
import Testing

@testable import TandemServer

/// Anonymous parties attacking the connection budgets (protocol/README.md §13, SECURITY.md):
/// each test performs the attack from loopback addresses and checks the safe outcome.
@Suite("Live TLS broker: admission budgets under attack", .timeLimit(.minutes(3)))
struct AdmissionTests {
    let logger = Logger(label: "tandem.test.client")

    struct Attack: Decodable {
        struct Connection: Decodable {
            var close: Int?
            var seconds: Double?
            var status: String?
            var error: String?
        }

        var results: [Connection]?
        var upgraded: Int?
        var refused: Int?
        var held: Int?
        var openAfter1s: Int?
        var healthz: String?
        var healthzSeconds: Double?
        var openLater: Int?
        var status: String?
        var closed: Bool?

        enum CodingKeys: String, CodingKey {
            case results, held, openAfter1s, healthz, healthzSeconds, openLater, status, closed
            case upgraded = "101"
            case refused = "429"
        }
    }

    /// Runs Tests/interop/admission_attack.py against the broker and decodes its report.
    func attack(_ broker: LiveBroker, _ mode: String, _ arguments: [String]) async throws -> Attack {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("interop/admission_attack.py").path
        let child = try await ChildProcess.run(["python3", script, mode, "127.0.0.1", String(broker.port), broker.caFile] + arguments)
        let output = String(decoding: child.stdout, as: UTF8.self)
        guard let line = output.split(separator: "\n").last, let report = try? JSONDecoder().decode(Attack.self, from: Data(line.utf8)) else {
            throw TestFailure("no report from \(mode): \(output) \(String(decoding: child.stderr, as: UTF8.self))")
        }
        return report
    }

    @Test("before the hello, a message announced over the hello limit closes with 1009 at once instead of being held")
    func preHelloMessageLimit() async throws {
        // The hello timeout is long, so only the size check can close these in time.
        try await LiveBroker.run(configure: {
            $0.limits.helloTimeout = .seconds(60)
            // 40 at once from one address: the connection cap is not what this is about.
            $0.limits.anonymousWebSocketsPerNetwork = 64
        }) { broker in
            let relay = try await attack(broker, "prehello", [TandemWire.webSocketPath, "40", String(4 << 20)])
            let results = try #require(relay.results)
            #expect(results.count == 40)
            #expect(results.allSatisfy { $0.close == 1009 }, "\(results)")
            #expect(results.allSatisfy { ($0.seconds ?? 99) < 5 }, "\(results)")
            // Just over the hello limit is refused too; the echo endpoint keeps its own (1 MiB).
            let justOver = try await attack(broker, "prehello", [TandemWire.webSocketPath, "1", String((64 << 10) + 1)])
            #expect(justOver.results?.first?.close == 1009)
            let echo = try await attack(broker, "prehello", [TandemWire.echoPath, "2", String(2 << 20)])
            #expect(echo.results?.allSatisfy { $0.close == 1009 } == true, "\(String(describing: echo.results))")
        }
    }

    @Test("concurrent upgrades from one network cannot pass the WebSocket cap: slots are reserved before the upgrade")
    func upgradeRace() async throws {
        try await LiveBroker.run(configure: { $0.limits.anonymousWebSocketsPerNetwork = 8 }) { broker in
            let report = try await attack(broker, "upgrades", [TandemWire.echoPath, "60", "127.0.0.1"])
            #expect(report.upgraded == 8)
            #expect(report.refused == 52)
            // Every slot comes back when those connections close (released as each channel closes).
            var again = try await attack(broker, "upgrades", [TandemWire.echoPath, "8", "127.0.0.1"])
            for _ in 0..<50 where again.upgraded != 8 {
                try await Task.sleep(for: .milliseconds(100))
                again = try await attack(broker, "upgrades", [TandemWire.echoPath, "8", "127.0.0.1"])
            }
            #expect(again.upgraded == 8)
        }
    }

    @Test("agents behind one NAT address are not held to the anonymous cap; anonymous connections still are")
    func agentsBehindOneAddress() async throws {
        try await LiveBroker.run(configure: {
            $0.limits.anonymousWebSocketsPerNetwork = 2
            $0.limits.authenticatedWebSocketsPerNetwork = 5
        }) { broker in
            let alice = try await broker.addUser("alice", role: .agent)
            var agents: [WaitingAgent] = []
            // Five agents from one address, more than the anonymous cap: each got its session.
            for index in 0..<5 {
                agents.append(try await broker.startWaitingAgent(token: alice, ticket: "HD-NAT\(index)"))
            }
            #expect(Set(agents.map(\.created.sessionID)).count == 5)
            // The sixth passes the anonymous cap at its upgrade but not the agents' budget.
            let sixth = try await TandemConnection.run(
                configuration: broker.clientConfiguration,
                hello: .agent(token: alice, start: .init(ticket: "HD-NAT6", mode: .screen)),
                logger: logger
            ) { inbound, _ -> [String] in
                var codes: [String] = []
                for try await event in inbound { if case .control(.error(let error)) = event { codes.append(error.code.rawValue) } }
                return codes
            }
            #expect(sixth.closure.code == 4429)
            #expect(sixth.result == ["too-many-connections"])
            // Two anonymous connections fill the anonymous budget; a third is refused.
            let report = try await attack(broker, "upgrades", [TandemWire.echoPath, "3", "127.0.0.1"])
            #expect(report.upgraded == 2)
            #expect(report.refused == 1)
        }
    }

    @Test("one network holding as many slow HTTP connections as it can does not keep others out; the slow ones are closed")
    func slowHeads() async throws {
        try await LiveBroker.run(configure: {
            $0.limits.httpConnectionsPerNetwork = 16
            $0.limits.firstRequestTimeout = .seconds(3)
        }) { broker in
            let report = try await attack(broker, "slowhttp", ["120", "127.0.0.2", "4"])
            #expect((report.openAfter1s ?? 99) <= 16, "\(report)")
            #expect(report.healthz == "HTTP/1.1 200 OK")
            #expect((report.healthzSeconds ?? 99) < 1)
            #expect(report.openLater == 0)
        }
    }

    @Test("a request body dripped a byte a second is cut at the request deadline")
    func slowBodies() async throws {
        try await LiveBroker.run(configure: { $0.limits.requestDeadline = .seconds(2) }) { broker in
            let token = try await broker.addUser("alice", role: .agent)
            let report = try await attack(broker, "slowhttp", ["10", "127.0.0.3", "3", token])
            #expect(report.held == 10)
            #expect(report.healthz == "HTTP/1.1 200 OK")
            #expect(report.openLater == 0, "\(report)")
        }
    }

    @Test("an error answered before the body was read closes the connection")
    func closeAfterEarlyError() async throws {
        try await LiveBroker.run { broker in
            let report = try await attack(broker, "early401", [])
            #expect(report.status == "HTTP/1.1 401 Unauthorized")
            #expect(report.closed == true)
        }
    }
}

@Suite("Admission budgets, step by step")
struct AdmissionBudgetTests {
    func ticket(_ ip: String) throws -> AdmissionTicket {
        AdmissionTicket(network: ClientAddress(try SocketAddress(ipAddress: ip, port: 443)).network)
    }

    @Test("IPv6 addresses of one /64 share the caps; another /64 does not")
    func ipv6Networks() throws {
        var configuration = BrokerConfiguration()
        configuration.limits.anonymousWebSocketsPerNetwork = 1
        configuration.limits.httpConnectionsPerNetwork = 1
        let admission = WebSocketAdmission(configuration: configuration, metrics: BrokerMetrics())
        let first = try ticket("2001:db8:0:7::1")
        let sameNetwork = try ticket("2001:db8:0:7:ffff::2")
        let otherNetwork = try ticket("2001:db8:0:8::1")
        #expect(admission.accept(first))
        #expect(!admission.accept(sameNetwork))
        #expect(admission.accept(otherNetwork))
        #expect(admission.admit(first, origin: nil, host: nil) == nil)
        #expect(admission.admit(sameNetwork, origin: nil, host: nil)?.code == "too-many-connections")
        #expect(admission.admit(otherNetwork, origin: nil, host: nil) == nil)
        admission.release(first)
        #expect(admission.admit(sameNetwork, origin: nil, host: nil) == nil)
    }

    @Test("an authenticated connection moves from the anonymous budget to its own; release happens once")
    func authenticatedBudget() throws {
        var configuration = BrokerConfiguration()
        configuration.limits.anonymousWebSocketsPerNetwork = 1
        configuration.limits.authenticatedWebSocketsPerNetwork = 2
        let admission = WebSocketAdmission(configuration: configuration, metrics: BrokerMetrics())
        let agents = try (0..<3).map { _ in try ticket("192.0.2.7") }
        #expect(admission.admit(agents[0], origin: nil, host: nil) == nil)
        #expect(admission.authenticate(agents[0]))
        #expect(admission.admit(agents[1], origin: nil, host: nil) == nil)
        #expect(admission.authenticate(agents[1]))
        #expect(admission.admit(agents[2], origin: nil, host: nil) == nil)
        #expect(!admission.authenticate(agents[2]))
        #expect(admission.held(network: "192.0.2.7") == (0, 1, 2))
        admission.release(agents[0])
        admission.release(agents[0])
        #expect(admission.held(network: "192.0.2.7") == (0, 1, 1))
    }
}

@Suite("WebSocket length scanner (RFC 6455 §5.7 examples)")
struct WebSocketLengthScannerTests {
    func scan(_ bytes: [UInt8], byteByByte: Bool = false) -> UInt64? {
        var scanner = WebSocketLengthScanner()
        guard byteByByte else { return scanner.scan(ByteBuffer(bytes: bytes)) }
        var largest: UInt64?
        for byte in bytes {
            if let length = scanner.scan(ByteBuffer(bytes: [byte])) { largest = max(largest ?? 0, length) }
        }
        return largest
    }

    @Test("a single-frame masked text message: 5 bytes")
    func maskedHello() {
        let frame: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
        #expect(scan(frame) == 5)
        #expect(scan(frame, byteByByte: true) == 5)
    }

    @Test("a fragmented unmasked text message adds up its frames; a ping between them does not count")
    func fragmented() {
        let frames: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6c] + [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f] + [0x80, 0x02, 0x6c, 0x6f]
        #expect(scan(frames) == 5)
        #expect(scan(frames, byteByByte: true) == 5)
    }

    @Test("16-bit and 64-bit lengths: 256 bytes and 64 KiB binary messages")
    func extendedLengths() {
        #expect(scan([0x82, 0x7E, 0x01, 0x00]) == 256)
        #expect(scan([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]) == 65536)
        #expect(scan([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], byteByByte: true) == 65536)
    }

    @Test("a payload is skipped, not read as headers: the next frame is found after it")
    func skipsPayload() {
        let first: [UInt8] = [0x82, 0x03, 0x82, 0x7F, 0xFF]
        let second: [UInt8] = [0x82, 0x7E, 0x00, 0x10]
        var scanner = WebSocketLengthScanner()
        #expect(scanner.scan(ByteBuffer(bytes: first)) == 3)
        #expect(scanner.scan(ByteBuffer(bytes: second)) == 16)
    }
}
