import NIOCore
import TandemCore

/// Carries out a connection's ``ConnectionDeadlines`` with one scheduled task on the
/// connection's event loop (no task or sleep per timer). Calls from any thread hop to the
/// event loop; the state is confined to it.
final class ConnectionTimer: @unchecked Sendable {
    struct Actions: Sendable {
        var refuseHello: @Sendable () -> Void
        var closeIdle: @Sendable () -> Void
        var cutConnection: @Sendable () -> Void
    }

    private let eventLoop: any EventLoop
    private let activity: ConnectionActivity
    private let actions: Actions
    private var deadlines: ConnectionDeadlines
    private var scheduled: Scheduled<Void>?

    init(eventLoop: any EventLoop, activity: ConnectionActivity, deadlines: ConnectionDeadlines, actions: Actions) {
        self.eventLoop = eventLoop
        self.activity = activity
        self.deadlines = deadlines
        self.actions = actions
    }

    /// Arms the timer at the first deadline.
    func start() {
        eventLoop.execute { self.arm(at: self.deadlines.nextDeadline(lastActivity: self.activity.lastActive)) }
    }

    func helloReceived() {
        eventLoop.execute { self.deadlines.helloReceived() }
    }

    func overflowed() {
        eventLoop.execute {
            switch self.deadlines.overflowed(now: .now) {
            case .armCut(let deadline): self.arm(at: deadline)
            case .none: break
            }
        }
    }

    /// The connection's reading ended: it is cut if its close does not go out in time.
    func readEnded() {
        eventLoop.execute {
            switch self.deadlines.readEnded(now: .now) {
            case .armCut(let deadline): self.arm(at: deadline)
            case .none: break
            }
        }
    }

    func connectionEnded() {
        eventLoop.execute {
            self.deadlines.connectionEnded()
            self.scheduled?.cancel()
            self.scheduled = nil
        }
    }

    private func arm(at deadline: ContinuousClock.Instant?) {
        scheduled?.cancel()
        scheduled = nil
        guard let deadline else { return }
        let delay = max(.zero, deadline - .now)
        scheduled = eventLoop.scheduleTask(in: TimeAmount(delay)) { self.fired() }
    }

    private func fired() {
        scheduled = nil
        switch deadlines.timerFired(now: .now, lastActivity: activity.lastActive) {
        case .refuseHello:
            actions.refuseHello()
            arm(at: deadlines.nextDeadline(lastActivity: activity.lastActive))
        case .closeIdle:
            actions.closeIdle()
            arm(at: deadlines.nextDeadline(lastActivity: activity.lastActive))
        case .cutConnection:
            actions.cutConnection()
        case .rearm(let deadline):
            arm(at: deadline)
        case .stop:
            break
        }
    }
}
