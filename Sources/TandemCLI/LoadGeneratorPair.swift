import NIOCore
import NIOPosix
import TandemProtocol

/// Where a pair's two connections run.
enum LoadPlacement: Sendable {
    /// Both on one event loop: state shared by sender and receiver needs no lock (control
    /// messages with their in-flight window and send-time queue, lean frames).
    case sameLoop
    /// Agent and customer on different event loops, so sending and receiving run in
    /// parallel (flat-out, stall).
    case split
}

/// An agent and a customer in one live session, opened by the load generator through the
/// same steps as any client (protocol/README.md §2): the agent's hello and `session.created`,
/// the customer's hello with the code and the link's key, `session.joined`, `peer.joined`.
struct LoadPair: Sendable {
    let index: Int
    let agent: LoadSocket
    let customer: LoadSocket

    static let clientName = "tandem-bench/1"

    /// The stream the customer announces (after its consent) when a scenario sends media or
    /// annotations: stream 1, customer → agent, as in `tandem bench --scenario frames`.
    static let stream = StreamStart(streamID: 1, source: .camera, codec: .jpeg, width: 1280, height: 720, fps: 30)

    /// Opens one session. With `stream`, the customer also grants consent and starts
    /// ``stream``, and the pair is returned once the agent has the `stream.start`: media and
    /// annotations on stream 1 are relayed from then on. `agentReceiveBuffer` sets the agent
    /// socket's `SO_RCVBUF` (0: autotuned).
    static func open(
        index: Int,
        target: LoadTarget,
        token: String,
        agentLoop: any EventLoop,
        customerLoop: any EventLoop,
        stream: Bool,
        agentReceiveBuffer: Int = 0
    ) async throws -> LoadPair {
        let agent = try await LoadSocket.connect(to: target, on: agentLoop, receiveBuffer: agentReceiveBuffer)
        var customer: LoadSocket?
        do {
            agent.send(.hello(.agent(token: token, start: Hello.Start(ticket: "BENCH-\(index)", mode: .camera), client: clientName)))
            let created: SessionCreated = try await agent.waitFor("session.created") { message in
                guard case .sessionCreated(let value) = message else { return nil }
                return value
            }
            let joining = try await LoadSocket.connect(to: target, on: customerLoop)
            customer = joining
            // With the link's key the join spends no guessing budget (§3.1), as a customer with the link.
            joining.send(.hello(.customer(code: created.joinCode, key: JoinLink.key(fromLink: created.joinURL), client: clientName)))
            _ = try await joining.waitFor("session.joined") { message -> Bool? in
                guard case .sessionJoined = message else { return nil }
                return true
            }
            _ = try await agent.waitFor("peer.joined") { message -> Bool? in
                guard case .peerJoined = message else { return nil }
                return true
            }
            if stream {
                joining.send(.consent(Consent(granted: true)))
                joining.send(.streamStart(Self.stream))
                _ = try await agent.waitFor("stream.start") { message -> Bool? in
                    guard case .streamStart = message else { return nil }
                    return true
                }
            }
            return LoadPair(index: index, agent: agent, customer: joining)
        } catch {
            agent.close()
            customer?.close()
            throw error
        }
    }

    /// Ends the session with the agent's `session.end` and waits until the broker has closed
    /// both connections; after `timeout` the load generator closes what is left itself.
    func end(timeout: TimeAmount = .seconds(15)) async {
        let agent = self.agent
        let customer = self.customer
        agent.send(.sessionEnd(SessionEnd(outcome: .resolved)))
        let deadline = agent.eventLoop.scheduleTask(in: timeout) {
            agent.close()
            customer.close()
        }
        _ = try? await agent.closeFuture.get()
        _ = try? await customer.closeFuture.get()
        deadline.cancel()
    }

    /// Drops both connections (no session end: the broker sees two participants go away).
    func close() {
        agent.close()
        customer.close()
    }
}

/// One scenario's broker and the load generator's way to it.
struct BenchContext: Sendable {
    typealias OpenedPairs = (pairs: [LoadPair], setupMicros: [UInt64])

    let broker: BenchBroker
    let target: LoadTarget

    /// Rate caps far above anything one connection can send, for the flat-out scenarios.
    static let raisedRateArguments = [
        "--control-rate", "1000000000", "--control-burst", "1000000000",
        "--frame-rate", "1000000000", "--frame-burst", "1000000000",
    ]

    /// Starts a broker (``BenchBroker``) with the rate caps raised or left at their defaults.
    static func start(raisedRates: Bool) async throws -> BenchContext {
        let broker = try await BenchBroker.start(extraArguments: raisedRates ? raisedRateArguments : [])
        do {
            return BenchContext(broker: broker, target: try LoadTarget(port: broker.port, caFile: broker.directory + "/certs/ca.pem"))
        } catch {
            broker.stop()
            throw error
        }
    }

    /// Opens `count` sessions, at most `concurrency` setups at a time, spread over the event
    /// loops of `MultiThreadedEventLoopGroup.singleton` (one per core). Returns the pairs in
    /// index order and each setup's duration in microseconds (first connect to the last
    /// message of ``LoadPair/open(index:target:token:agentLoop:customerLoop:stream:agentReceiveBuffer:)``).
    /// The first failure throws.
    func openPairs(
        _ count: Int,
        concurrency: Int,
        placement: LoadPlacement,
        stream: Bool,
        firstIndex: Int = 0,
        agentReceiveBuffer: Int = 0
    ) async throws -> OpenedPairs {
        let target = self.target
        let token = broker.agentToken
        let loops = MultiThreadedEventLoopGroup.singleton
        return try await withThrowingTaskGroup(of: (LoadPair, UInt64).self, returning: OpenedPairs.self) { group in
            var pairs: [LoadPair] = []
            var micros: [UInt64] = []
            pairs.reserveCapacity(count)
            micros.reserveCapacity(count)
            var started = 0
            while true {
                while started < count, started - pairs.count < concurrency {
                    let index = firstIndex + started
                    let agentLoop = loops.next()
                    let customerLoop = placement == .sameLoop ? agentLoop : loops.next()
                    group.addTask {
                        let begun = LoadClock.nanos()
                        let pair = try await LoadPair.open(
                            index: index,
                            target: target,
                            token: token,
                            agentLoop: agentLoop,
                            customerLoop: customerLoop,
                            stream: stream,
                            agentReceiveBuffer: agentReceiveBuffer
                        )
                        return (pair, (LoadClock.nanos() - begun) / 1000)
                    }
                    started += 1
                }
                guard let opened = try await group.next() else { break }
                pairs.append(opened.0)
                micros.append(opened.1)
            }
            return (pairs: pairs.sorted { $0.index < $1.index }, setupMicros: micros)
        }
    }

    /// Ends every session (``LoadPair/end(timeout:)``), `concurrency` at a time.
    func end(_ pairs: [LoadPair], concurrency: Int) async {
        await withTaskGroup(of: Void.self) { group in
            var started = 0
            var finished = 0
            while true {
                while started < pairs.count, started - finished < concurrency {
                    let pair = pairs[started]
                    group.addTask { await pair.end() }
                    started += 1
                }
                guard await group.next() != nil else { break }
                finished += 1
            }
        }
    }
}
