/// Broker → agent: the customer joined; relaying starts now.
///
/// See [protocol/README.md § peer.joined](../../protocol/README.md#54-peerjoined).
public struct PeerJoined: Sendable, Equatable, Codable {
    public var role: ParticipantRole
    /// The customer's client name, as stated in its hello.
    public var client: String?

    public init(role: ParticipantRole, client: String?) {
        self.role = role
        self.client = client
    }
}
