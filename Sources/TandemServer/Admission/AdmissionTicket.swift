import Atomics
import NIOConcurrencyHelpers

/// One connection's place in the per-network budgets of ``WebSocketAdmission``, from accept
/// to close: counted as an HTTP connection until it upgrades, then in the anonymous WebSocket
/// pool until its hello proves an agent or admin, then in the authenticated pool. Released
/// exactly once, when the connection closes (protocol/README.md §13).
final class AdmissionTicket: Sendable {
    enum Pool: Sendable, Equatable {
        case none
        case anonymous
        case authenticated
    }

    /// Which endpoint the upgrade asked for: decides the message limit before the hello.
    enum Endpoint: Sendable, Equatable {
        case relay
        case echo
        case other
    }

    struct State: Sendable {
        var httpCounted = false
        var pool = Pool.none
        var endpoint = Endpoint.other
        var released = false
    }

    /// The counting key: an IPv4 address or the /64 of an IPv6 one (``ClientAddress``); nil
    /// for connections without an IP address (Unix sockets, tests), which are not counted.
    let network: String?
    let state = NIOLockedValueBox(State())
    /// Set when the broker has welcomed the participant (`session.created`, `session.joined`,
    /// …): from then on messages up to the full message limit are accepted. Read on the
    /// event loop by ``PreHelloMessageLimit`` for every frame header.
    private let welcomed = ManagedAtomic<Bool>(false)

    init(network: String?) {
        self.network = network
    }

    var isWelcomed: Bool { welcomed.load(ordering: .acquiring) }

    func welcome() {
        welcomed.store(true, ordering: .releasing)
    }

    var endpoint: Endpoint { state.withLockedValue { $0.endpoint } }
}
