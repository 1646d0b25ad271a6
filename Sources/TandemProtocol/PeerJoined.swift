/// Broker → agent: the customer joined; relaying starts now.
///
/// See [protocol/README.md § peer.joined](../../protocol/README.md#54-peerjoined).
public struct PeerJoined: Sendable, Equatable, Codable {
    public var role: ParticipantRole
    /// The customer's client name, as stated in its hello.
    public var client: String?
    /// What the customer decodes (§5.1); absent for an old client, which decodes images only.
    public var codecs: CodecList?

    public init(role: ParticipantRole, client: String?, codecs: CodecList? = nil) {
        self.role = role
        self.client = client
        self.codecs = codecs
    }
}
