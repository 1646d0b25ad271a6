/// What the broker's HTTP handlers, its relay and its services share: made once at start by
/// ``TandemBroker/prepare()``, after the data directory is locked and the audit log is
/// checked, and before anything is served.
struct BrokerRuntime: Sendable {
    /// The audit signing key (§11.3); help links are signed with a key derived from it (§16.1).
    let key: AuditSigningKey
    /// Writes recordings (§19); one of the running broker's services.
    let recorder: RecordingWriter
    /// Live sessions, join codes, the queue and console sign-ins.
    let hub: SessionHub
    /// The audit log's Merkle tree: proofs, and the heads checkpoints commit to (§11.8, §11.10).
    let tree: AuditTree
}
