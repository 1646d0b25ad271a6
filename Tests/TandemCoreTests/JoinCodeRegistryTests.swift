import Foundation
import TandemCore
import TandemProtocol
import Testing

/// A deterministic generator, so collisions can be forced.
struct SequenceGenerator: RandomNumberGenerator {
    var values: [UInt64]
    var index = 0
    mutating func next() -> UInt64 {
        defer { index += 1 }
        return values[index % values.count]
    }
}

@Suite("JoinCodeRegistry, step by step")
struct JoinCodeRegistryTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a code admits once, then says used")
    func singleUse() {
        var registry = JoinCodeRegistry()
        let code = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(600))
        #expect(code.count == 12 && code.allSatisfy(\.isNumber))
        #expect(registry.activeCount == 1)
        #expect(registry.redeem(code, now: t0) == .admit(sessionID: "s1"))
        #expect(registry.activeCount == 0)
        #expect(registry.redeem(code, now: t0) == .reject(.codeUsed))
    }

    @Test("unknown, expired and retired codes are refused with their own close codes")
    func refusals() {
        var registry = JoinCodeRegistry()
        let expiring = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(10))
        let retired = registry.issue(sessionID: "s2", expiresAt: t0.addingTimeInterval(600))
        let unknown = ["000000000000", "111111111111", "222222222222"].first { $0 != expiring && $0 != retired }!
        #expect(registry.redeem(unknown, now: t0) == .reject(.unknownCode))
        #expect(registry.redeem(expiring, now: t0.addingTimeInterval(10)) == .reject(.codeExpired))
        #expect(registry.redeem(expiring, now: t0.addingTimeInterval(11)) == .reject(.codeExpired))
        registry.retire(sessionID: "s2", now: t0)
        #expect(registry.redeem(retired, now: t0) == .reject(.codeExpired))
    }

    @Test("expire() returns waiting sessions whose code died and retires the codes")
    func expire() {
        var registry = JoinCodeRegistry()
        let early = registry.issue(sessionID: "early", expiresAt: t0.addingTimeInterval(10))
        _ = registry.issue(sessionID: "late", expiresAt: t0.addingTimeInterval(600))
        #expect(registry.expire(now: t0.addingTimeInterval(5)) == [])
        #expect(registry.expire(now: t0.addingTimeInterval(10)) == ["early"])
        #expect(registry.activeCount == 1)
        #expect(registry.redeem(early, now: t0.addingTimeInterval(11)) == .reject(.codeExpired))
    }

    @Test("tombstones are forgotten after their lifetime")
    func prune() {
        var registry = JoinCodeRegistry(tombstoneLifetime: 60)
        let code = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(600))
        #expect(registry.redeem(code, now: t0) == .admit(sessionID: "s1"))
        registry.prune(now: t0.addingTimeInterval(59))
        #expect(registry.redeem(code, now: t0.addingTimeInterval(59)) == .reject(.codeUsed))
        registry.prune(now: t0.addingTimeInterval(61))
        #expect(registry.redeem(code, now: t0.addingTimeInterval(61)) == .reject(.unknownCode))
    }

    @Test("a new code never repeats an active or remembered one, and keeps leading zeros")
    func noCollision() {
        var registry = JoinCodeRegistry()
        // The first two draws are the same value: the second issue must draw again.
        var generator = SequenceGenerator(values: [UInt64.max / 2, UInt64.max / 2, UInt64.max / 3])
        let first = registry.issue(sessionID: "a", expiresAt: t0.addingTimeInterval(600), using: &generator)
        let second = registry.issue(sessionID: "b", expiresAt: t0.addingTimeInterval(600), using: &generator)
        #expect(first != second)
        #expect(first.count == 12 && second.count == 12)
    }
}
