import Foundation
import Logging
import NIOConcurrencyHelpers
import TandemClient
import TandemProtocol

/// A participant connection for tests: every event it receives is kept, so a test can wait
/// for the one it expects; it can send, and leave (close its connection) at any time.
final class LiveParticipant: Sendable {
    private let leaving: AsyncStream<Never>.Continuation
    /// How the broker closed the connection.
    let closure: Task<TandemClosure, any Error>

    /// Connects with `hello`.
    static func connect(_ broker: LiveBroker, hello: Hello) -> LiveParticipant {
        connect(broker.clientConfiguration, hello: hello)
    }

    /// Connects with `hello` to the broker `configuration` names (another process, §14).
    static func connect(_ configuration: TandemClientConfiguration, hello: Hello) -> LiveParticipant {
        let received = NIOLockedValueBox<[TandemEvent]>([])
        let outbound = NIOLockedValueBox<TandemOutbound?>(nil)
        let (leave, leaving) = AsyncStream<Never>.makeStream()
        let closure = Task {
            try await TandemConnection.run(configuration: configuration, hello: hello, logger: Logger(label: "tandem.test.participant")) {
                inbound,
                out in
                outbound.withLockedValue { $0 = out }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await event in inbound { received.withLockedValue { $0.append(event) } }
                    }
                    group.addTask { for await _ in leave {} }
                    try await group.next()
                    group.cancelAll()
                }
            }.closure
        }
        return LiveParticipant(shared: received, outbound: outbound, leaving: leaving, closure: closure)
    }

    private init(
        shared: NIOLockedValueBox<[TandemEvent]>,
        outbound: NIOLockedValueBox<TandemOutbound?>,
        leaving: AsyncStream<Never>.Continuation,
        closure: Task<TandemClosure, any Error>
    ) {
        self.sharedEvents = shared
        self.sharedOutbound = outbound
        self.leaving = leaving
        self.closure = closure
    }

    private let sharedEvents: NIOLockedValueBox<[TandemEvent]>
    private let sharedOutbound: NIOLockedValueBox<TandemOutbound?>

    var events: [TandemEvent] { sharedEvents.withLockedValue { $0 } }
    var messages: [ControlMessage] { events.compactMap { if case .control(let message) = $0 { message } else { nil } } }
    var frames: [MediaFrame] { events.compactMap { if case .frame(let frame) = $0 { frame } else { nil } } }

    /// Waits (up to `seconds`) until a received control message matches, and returns the first that does.
    @discardableResult
    func waitFor<T>(_ what: String, seconds: Double = 30, _ match: (ControlMessage) -> T?) async throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let found = messages.lazy.compactMap(match).first { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no \(what) within \(Int(seconds)) s; got \(messages.map(\.type))")
    }

    /// Waits until `count` frames arrived.
    func waitForFrames(_ count: Int, seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if frames.count >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("fewer than \(count) frames within \(Int(seconds)) s")
    }

    func send(_ message: ControlMessage) async throws {
        try await outbound().send(message)
    }

    func send(_ frame: MediaFrame) async throws {
        try await outbound().send(frame)
    }

    private func outbound() async throws -> TandemOutbound {
        for _ in 0..<1500 {
            if let outbound = sharedOutbound.withLockedValue({ $0 }) { return outbound }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("the connection never opened")
    }

    /// Closes the connection from this side.
    func leave() {
        leaving.finish()
    }
}

extension LiveBroker {
    /// Calls the HTTPS API as the user with `token`; the client is shut down afterwards.
    func api<T: Sendable>(_ token: String, _ body: (TandemAPIClient) async throws -> T) async throws -> T {
        try await withAPI(clientConfiguration, token, body)
    }

    /// The refusal the API answers `body` with as the user with `token`; nil when it succeeds.
    func refusal(_ token: String, _ body: (TandemAPIClient) async throws -> Void) async throws -> TandemAPIClient.Failure? {
        try await api(token) { client in
            do {
                try await body(client)
                return nil
            } catch let failure as TandemAPIClient.Failure {
                return failure
            }
        }
    }
}

/// Calls the HTTPS API of the broker `configuration` names as the user with `token`; the
/// client is shut down afterwards.
func withAPI<T: Sendable>(
    _ configuration: TandemClientConfiguration,
    _ token: String,
    _ body: (TandemAPIClient) async throws -> T
) async throws -> T {
    let client = try TandemAPIClient(configuration: configuration, token: token)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}
