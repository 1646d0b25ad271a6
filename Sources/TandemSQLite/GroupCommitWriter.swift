import GRDB
import Synchronization

/// Commits concurrent write transactions together: one SQLite transaction, one `fsync`, for
/// every write that arrived while the previous batch was committing (group commit).
///
/// Each write runs in its own savepoint inside the batch's transaction, so a write that
/// throws is rolled back alone and its caller gets the error, while the others commit. No
/// caller is resumed before the transaction that holds its write has committed: a broker
/// that tells a participant something after `recordEvent` returns still tells it only what
/// is on disk. Writes run in the order they arrived.
final class GroupCommitWriter: Sendable {
    private struct Pending: Sendable {
        let work: @Sendable (Database) throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State: Sendable {
        var pending: [Pending] = []
        var committing = false
    }

    private let pool: DatabasePool
    /// Hears how long each batch's transaction took, and how many writes it held.
    private let onCommit: (@Sendable (Duration, Int) -> Void)?
    private let state = Mutex(State())

    init(pool: DatabasePool, onCommit: (@Sendable (Duration, Int) -> Void)? = nil) {
        self.pool = pool
        self.onCommit = onCommit
    }

    /// Runs `updates` in the next batch and returns its result once the batch committed.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let start = state.withLock { state -> Bool in
                state.pending.append(Pending(work: { try updates($0) }, continuation: continuation))
                guard !state.committing else { return false }
                state.committing = true
                return true
            }
            if start {
                // One committing task at a time; it ends when no write is waiting.
                Task { await self.commitBatches() }
            }
        }
        // The closure returned a T: the cast cannot fail.
        return result as! T
    }

    private func commitBatches() async {
        while true {
            let batch = state.withLock { state -> [Pending] in
                let batch = state.pending
                state.pending = []
                if batch.isEmpty { state.committing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let started = ContinuousClock.now
            let results: [Result<any Sendable, any Error>]
            do {
                results = try await pool.write { db in
                    batch.map { pending in
                        Result {
                            var value: (any Sendable)?
                            try db.inSavepoint {
                                value = try pending.work(db)
                                return .commit
                            }
                            return value!
                        }
                    }
                }
                onCommit?(ContinuousClock.now - started, batch.count)
            } catch {
                // The commit itself failed: nothing of the batch is on disk.
                results = batch.map { _ in .failure(error) }
            }
            for (pending, result) in zip(batch, results) {
                pending.continuation.resume(with: result)
            }
        }
    }
}
