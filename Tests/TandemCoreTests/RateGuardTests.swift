import TandemCore
import Testing

@Suite("Rate guard: drop over the rate, close only on sustained abuse")
struct RateGuardTests {
    @Test("a burst within the bucket is accepted, the excess dropped with one notice a second")
    func burstThenDrops() {
        var guardState = RateGuard(perSecond: 10, burst: 2, sustainedExcess: 3)
        #expect(guardState.message(now: 0) == .accept)
        #expect(guardState.message(now: 0) == .accept)
        #expect(guardState.message(now: 0) == .drop(notify: true))
        #expect(guardState.message(now: 0.01) == .drop(notify: false))
        #expect(guardState.pendingExcess > 1.8)
    }

    @Test("excess drains at the rate: a pause forgives it")
    func drains() {
        var guardState = RateGuard(perSecond: 10, burst: 1, sustainedExcess: 3)
        #expect(guardState.message(now: 0) == .accept)
        #expect(guardState.message(now: 0) == .drop(notify: true))
        #expect(guardState.message(now: 0) == .drop(notify: false))
        #expect(guardState.message(now: 1) == .accept)
        #expect(guardState.pendingExcess == 0)
        #expect(guardState.message(now: 1) == .drop(notify: true))
    }

    @Test("a flood passes the tolerated excess and closes")
    func flood() {
        var guardState = RateGuard(perSecond: 10, burst: 1, sustainedExcess: 3)
        #expect(guardState.message(now: 0) == .accept)
        #expect(guardState.message(now: 0) == .drop(notify: true))
        #expect(guardState.message(now: 0) == .drop(notify: false))
        #expect(guardState.message(now: 0) == .drop(notify: false))
        #expect(guardState.message(now: 0) == .close)
    }
}
