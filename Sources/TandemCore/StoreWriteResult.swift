/// How a store's write transaction ended, as its `onWrite` callback hears it (for metrics).
public enum StoreWriteResult: Sendable, Equatable {
    /// Committed; the duration is the transaction's (in SQLite, the group commit's batch).
    case committed
    /// Failed and rolled back: the database refused or could not be reached, and the caller
    /// got the error; the duration is how long the write took to fail. A refusal the caller
    /// expects (``StoreError``: a duplicate name, a missing row) is not reported.
    case failed
}
