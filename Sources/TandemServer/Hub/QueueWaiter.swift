import NIOConcurrencyHelpers
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A customer connection waiting in the queue (§16) until an agent takes it. The relay
/// connection reads ``session`` to learn that it was taken.
final class QueueWaiter: Sendable {
    let id: String
    let request: Hello.QueueRequest
    let line: String
    let client: String?
    let address: String?
    /// Its network (§3.1), which may hold at most a few queue entries at once.
    let network: String?
    let enteredAt: Date
    let outbox: ParticipantOutbox
    private let taken = NIOLockedValueBox<LiveSession?>(nil)
    private let offered = NIOLockedValueBox(false)

    /// Whether its last `queue.status` offered a callback (§20.4).
    var callbackOffered: Bool {
        get { offered.withLockedValue { $0 } }
        set { offered.withLockedValue { $0 = newValue } }
    }

    init(
        id: String,
        request: Hello.QueueRequest,
        client: String?,
        address: String?,
        network: String? = nil,
        enteredAt: Date,
        outbox: ParticipantOutbox
    ) {
        self.id = id
        self.request = request
        self.line = request.line ?? SupportLine.first
        self.client = client
        self.address = address
        self.network = network
        self.enteredAt = enteredAt
        self.outbox = outbox
    }

    /// The session an agent took this customer into; nil while waiting.
    var session: LiveSession? { taken.withLockedValue { $0 } }

    func assign(_ session: LiveSession) {
        taken.withLockedValue { $0 = session }
    }
}
