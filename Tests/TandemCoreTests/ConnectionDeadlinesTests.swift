import TandemCore
import Testing

/// The one timer of a relay connection, one input at a time.
@Suite("Connection deadlines: hello, idle and slow-consumer cut on one timer")
struct ConnectionDeadlinesTests {
    let t0 = ContinuousClock.now

    func deadlines() -> ConnectionDeadlines {
        ConnectionDeadlines(openedAt: t0, helloTimeout: .seconds(10), idleTimeout: .seconds(60), cutGrace: .seconds(2))
    }

    @Test("before the hello the timer is armed at the hello deadline")
    func armedAtHello() {
        #expect(deadlines().nextDeadline(lastActivity: t0) == t0 + .seconds(10))
    }

    @Test("no hello in time: refuse, then only idleness is timed")
    func helloTimeout() {
        var machine = deadlines()
        #expect(machine.timerFired(now: t0 + .seconds(10), lastActivity: t0) == .refuseHello)
        #expect(machine.nextDeadline(lastActivity: t0) == t0 + .seconds(60))
    }

    @Test("a timer that fires early is re-armed at the hello deadline")
    func earlyFire() {
        var machine = deadlines()
        #expect(machine.timerFired(now: t0 + .seconds(3), lastActivity: t0) == .rearm(at: t0 + .seconds(10)))
    }

    @Test("after the hello the hello deadline no longer applies")
    func helloReceived() {
        var machine = deadlines()
        machine.helloReceived()
        #expect(machine.nextDeadline(lastActivity: t0 + .seconds(5)) == t0 + .seconds(65))
    }

    @Test("activity since the timer was armed moves the idle deadline")
    func activityMovesIdle() {
        var machine = deadlines()
        machine.helloReceived()
        #expect(machine.timerFired(now: t0 + .seconds(60), lastActivity: t0 + .seconds(30)) == .rearm(at: t0 + .seconds(90)))
    }

    @Test("nothing moved for the idle timeout: close")
    func idle() {
        var machine = deadlines()
        machine.helloReceived()
        #expect(machine.timerFired(now: t0 + .seconds(60), lastActivity: t0) == .closeIdle)
    }

    @Test("a connection closed as idle is cut if it does not take its close in the grace period")
    func idleThenCut() {
        var machine = deadlines()
        machine.helloReceived()
        _ = machine.timerFired(now: t0 + .seconds(60), lastActivity: t0)
        #expect(machine.nextDeadline(lastActivity: t0) == t0 + .seconds(62))
    }

    @Test("the idle close's grace over: cut")
    func idleCut() {
        var machine = deadlines()
        machine.helloReceived()
        _ = machine.timerFired(now: t0 + .seconds(60), lastActivity: t0)
        #expect(machine.timerFired(now: t0 + .seconds(62), lastActivity: t0) == .cutConnection)
    }

    @Test("reading ended: the connection is cut unless it ends within the close grace")
    func readEnded() {
        var machine = deadlines()
        machine.helloReceived()
        #expect(machine.readEnded(now: t0 + .seconds(5)) == .armCut(at: t0 + .seconds(15)))
    }

    @Test("reading ended before the hello: the hello deadline no longer applies")
    func readEndedBeforeHello() {
        var machine = deadlines()
        _ = machine.readEnded(now: t0 + .seconds(1))
        #expect(machine.timerFired(now: t0 + .seconds(10), lastActivity: t0) == .rearm(at: t0 + .seconds(11)))
    }

    @Test("reading ended while cutting keeps the earlier cut")
    func readEndedWhileCutting() {
        var machine = deadlines()
        _ = machine.overflowed(now: t0 + .seconds(5))
        #expect(machine.readEnded(now: t0 + .seconds(6)) == .none)
    }

    @Test("an overflowed recipient gets the grace period to take its close")
    func overflowArmsCut() {
        var machine = deadlines()
        machine.helloReceived()
        #expect(machine.overflowed(now: t0 + .seconds(5)) == .armCut(at: t0 + .seconds(7)))
    }

    @Test("a second overflow does not move the cut")
    func secondOverflow() {
        var machine = deadlines()
        _ = machine.overflowed(now: t0 + .seconds(5))
        #expect(machine.overflowed(now: t0 + .seconds(6)) == .none)
    }

    @Test("the cut happens at its deadline, not before")
    func cutDeadline() {
        var machine = deadlines()
        _ = machine.overflowed(now: t0 + .seconds(5))
        #expect(machine.timerFired(now: t0 + .seconds(6), lastActivity: t0) == .rearm(at: t0 + .seconds(7)))
    }

    @Test("the grace period over: cut")
    func cut() {
        var machine = deadlines()
        _ = machine.overflowed(now: t0 + .seconds(5))
        #expect(machine.timerFired(now: t0 + .seconds(7), lastActivity: t0) == .cutConnection)
    }

    @Test("while cutting, idleness does not apply")
    func cuttingIgnoresIdle() {
        var machine = deadlines()
        _ = machine.overflowed(now: t0 + .seconds(59))
        #expect(machine.nextDeadline(lastActivity: t0) == t0 + .seconds(61))
    }

    @Test("a connection that ended times nothing")
    func ended() {
        var machine = deadlines()
        machine.connectionEnded()
        #expect(machine.timerFired(now: t0 + .seconds(100), lastActivity: t0) == .stop)
    }

    @Test("a connection that ended ignores an overflow")
    func endedIgnoresOverflow() {
        var machine = deadlines()
        machine.connectionEnded()
        #expect(machine.overflowed(now: t0) == .none)
    }
}
