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
        let code = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(600)).code
        #expect(code.count == 12 && code.allSatisfy(\.isNumber))
        #expect(registry.activeCount == 1)
        #expect(registry.redeem(code, now: t0) == .admit(sessionID: "s1"))
        #expect(registry.activeCount == 0)
        #expect(registry.redeem(code, now: t0) == .reject(.codeUsed, sessionID: "s1"))
    }

    @Test("unknown, expired and retired codes are refused with their own close codes")
    func refusals() {
        var registry = JoinCodeRegistry()
        let expiring = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(10)).code
        let retired = registry.issue(sessionID: "s2", expiresAt: t0.addingTimeInterval(600)).code
        let unknown = ["000000000000", "111111111111", "222222222222"].first { $0 != expiring && $0 != retired }!
        #expect(registry.redeem(unknown, now: t0) == .reject(.unknownCode, sessionID: nil))
        #expect(registry.redeem(expiring, now: t0.addingTimeInterval(10)) == .reject(.codeExpired, sessionID: "s1"))
        #expect(registry.redeem(expiring, now: t0.addingTimeInterval(11)) == .reject(.codeExpired, sessionID: "s1"))
        registry.retire(sessionID: "s2", now: t0)
        #expect(registry.redeem(retired, now: t0) == .reject(.codeExpired, sessionID: "s2"))
    }

    @Test("expire() returns waiting sessions whose code died and retires the codes")
    func expire() {
        var registry = JoinCodeRegistry()
        let early = registry.issue(sessionID: "early", expiresAt: t0.addingTimeInterval(10)).code
        _ = registry.issue(sessionID: "late", expiresAt: t0.addingTimeInterval(600))
        #expect(registry.expire(now: t0.addingTimeInterval(5)) == [])
        #expect(registry.expire(now: t0.addingTimeInterval(10)) == ["early"])
        #expect(registry.activeCount == 1)
        #expect(registry.redeem(early, now: t0.addingTimeInterval(11)) == .reject(.codeExpired, sessionID: "early"))
    }

    @Test("tombstones are forgotten after their lifetime")
    func prune() {
        var registry = JoinCodeRegistry(tombstoneLifetime: 60)
        let code = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(600)).code
        #expect(registry.redeem(code, now: t0) == .admit(sessionID: "s1"))
        registry.prune(now: t0.addingTimeInterval(59))
        #expect(registry.redeem(code, now: t0.addingTimeInterval(59)) == .reject(.codeUsed, sessionID: "s1"))
        registry.prune(now: t0.addingTimeInterval(61))
        #expect(registry.redeem(code, now: t0.addingTimeInterval(61)) == .reject(.unknownCode, sessionID: nil))
    }

    @Test("pruning forgets each kind of tombstone once it is due, and never an active code")
    func pruneInOrder() {
        var registry = JoinCodeRegistry(tombstoneLifetime: 60)
        let used = registry.issue(sessionID: "used", expiresAt: t0.addingTimeInterval(600)).code
        let late = registry.issue(sessionID: "late", expiresAt: t0.addingTimeInterval(5)).code
        let retired = registry.issue(sessionID: "retired", expiresAt: t0.addingTimeInterval(600)).code
        let active = registry.issue(sessionID: "active", expiresAt: t0.addingTimeInterval(6000)).code
        #expect(registry.redeem(used, now: t0) == .admit(sessionID: "used"))
        #expect(registry.redeem(late, now: t0.addingTimeInterval(10)) == .reject(.codeExpired, sessionID: "late"))
        registry.retire(sessionID: "retired", now: t0.addingTimeInterval(20))
        #expect(registry.rememberedCount == 4)
        registry.prune(now: t0.addingTimeInterval(65))
        #expect(registry.rememberedCount == 3)
        #expect(registry.redeem(used, now: t0.addingTimeInterval(65)) == .reject(.unknownCode, sessionID: nil))
        #expect(registry.redeem(late, now: t0.addingTimeInterval(65)) == .reject(.codeExpired, sessionID: "late"))
        registry.prune(now: t0.addingTimeInterval(85))
        #expect(registry.rememberedCount == 1)
        #expect(registry.redeem(retired, now: t0.addingTimeInterval(85)) == .reject(.unknownCode, sessionID: nil))
        registry.prune(now: t0.addingTimeInterval(5000))
        #expect(registry.rememberedCount == 1)
        #expect(registry.redeem(active, now: t0.addingTimeInterval(5000)) == .admit(sessionID: "active"))
    }

    @Test("a new code never repeats an active or remembered one, and keeps leading zeros")
    func noCollision() {
        var registry = JoinCodeRegistry()
        // The first two draws are the same value: the second issue must draw again.
        var generator = SequenceGenerator(values: [UInt64.max / 2, UInt64.max / 2, UInt64.max / 3])
        let first = registry.issue(sessionID: "a", expiresAt: t0.addingTimeInterval(600), using: &generator)
        let second = registry.issue(sessionID: "b", expiresAt: t0.addingTimeInterval(600), using: &generator)
        #expect(first.code != second.code)
        #expect(first.code.count == 12 && second.code.count == 12)
        #expect(first.key != second.key)
    }

    @Test("a link's key admits its code once, only while active and unexpired; a wrong key changes nothing")
    func linkKey() {
        var registry = JoinCodeRegistry()
        let issued = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(600))
        let other = registry.issue(sessionID: "s2", expiresAt: t0.addingTimeInterval(600))
        #expect(JoinLink.isWellFormedKey(issued.key))
        #expect(registry.redeemLink(issued.code, key: other.key, now: t0) == nil)
        #expect(registry.redeemLink(issued.code, key: "not-a-key", now: t0) == nil)
        #expect(registry.activeCount == 2)
        #expect(registry.redeemLink(issued.code, key: issued.key, now: t0) == "s1")
        #expect(registry.redeemLink(issued.code, key: issued.key, now: t0) == nil)
        #expect(registry.redeem(issued.code, now: t0) == .reject(.codeUsed, sessionID: "s1"))
        #expect(registry.redeemLink(other.code, key: other.key, now: t0.addingTimeInterval(600)) == nil)
        #expect(registry.redeem(other.code, now: t0.addingTimeInterval(600)) == .reject(.codeExpired, sessionID: "s2"))
    }

    @Test("a retired code's key no longer admits")
    func retiredKey() {
        var registry = JoinCodeRegistry()
        let issued = registry.issue(sessionID: "s1", expiresAt: t0.addingTimeInterval(600))
        registry.retire(sessionID: "s1", now: t0)
        #expect(registry.redeemLink(issued.code, key: issued.key, now: t0) == nil)
    }

    @Test("join links put the key in the fragment, and the key is read back from a link")
    func links() {
        let key = "q2Zt0d3X9vYc8Lw1RkP5_A"
        #expect(JoinLink.path(code: "482913557301", key: key) == "/j/482913557301#k=q2Zt0d3X9vYc8Lw1RkP5_A")
        #expect(JoinLink.key(fromLink: "https://127.0.0.1:8443/j/482913557301#k=" + key) == key)
        #expect(JoinLink.key(fromLink: "https://127.0.0.1:8443/j/482913557301") == nil)
        #expect(JoinLink.key(fromFragment: "x=1&k=" + key) == key)
        #expect(JoinLink.key(fromFragment: "k=short") == nil)
        #expect(JoinCodeRegistry.hash("482913557301", key: key) != JoinCodeRegistry.hash("482913557301"))
    }
}
