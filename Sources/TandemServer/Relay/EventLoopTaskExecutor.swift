import NIOCore

/// A task executor (SE-0417) that runs a task's nonisolated work on one NIO event loop.
///
/// A relay connection's task runs under this preference on its own channel's loop, so a
/// message read from the channel resumes the reader on the thread that read it, and what the
/// reader queues for the peer is written there too: no hop to Swift's global executor and
/// back, no thread wake-up per message (bench/results.md, `control-paced`). Default actors
/// the task calls into (``SessionHub``, the WebSocket library's handler) then run on this
/// loop too (SE-0417), so their methods must stay short and never block; code that would
/// block (files, SQLite) is already on its own threads (GRDB's queues, `NIOThreadPool`).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
