import Foundation
import TandemCore
import TandemProtocol
import Testing

@Suite("SupportQueue: tier, then waiting time; named transfers first")
struct SupportQueueTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func customer(_ id: String, _ tier: SupportTier, at seconds: Double, line: String = "line1") -> SupportQueue.Entry {
        SupportQueue.Entry(
            id: id,
            kind: .customer,
            ticket: "HD-\(id)",
            tier: tier,
            mode: .screen,
            line: line,
            enteredAt: t0.addingTimeInterval(seconds)
        )
    }

    @Test("take order, positions, leaving, capacity")
    func order() {
        var queue = SupportQueue(capacity: 4)
        #expect(queue.add(customer("a", .basic, at: 0)) == true)
        #expect(queue.add(customer("b", .standard, at: 1)) == true)
        #expect(queue.add(customer("c", .premium, at: 2)) == true)
        #expect(queue.add(customer("d", .standard, at: 3, line: "line2")) == true)
        #expect(queue.add(customer("e", .premium, at: 4)) == false)
        #expect(queue.position(of: "c") == 1)
        #expect(queue.position(of: "b") == 2)
        #expect(queue.position(of: "a") == 3)
        #expect(queue.position(of: "d") == 1)
        #expect(queue.ordered.map(\.id) == ["c", "b", "a", "d"])
        #expect(queue.remove(id: "b")?.ticket == "HD-b")
        #expect(queue.position(of: "a") == 2)
        #expect(queue.take(forAgent: "alice", line: "line1")?.id == "c")
        #expect(queue.take(forAgent: "alice", line: "line1")?.id == "a")
        #expect(queue.take(forAgent: "alice", line: "line1") == nil)
        #expect(queue.take(forAgent: "alice", line: "line2")?.id == "d")
        #expect(queue.isEmpty)
    }

    @Test("the same tier goes by waiting time; a transfer named for an agent goes only to that agent, before its line")
    func transfers() {
        var queue = SupportQueue()
        #expect(queue.add(customer("late", .premium, at: 10)) == true)
        #expect(queue.add(customer("early", .premium, at: 5)) == true)
        let named = SupportQueue.Entry(
            id: "s_1",
            kind: .transfer(from: "alice"),
            ticket: "HD-9",
            tier: .basic,
            mode: .camera,
            line: "line1",
            forAgent: "bob",
            enteredAt: t0.addingTimeInterval(20)
        )
        #expect(queue.add(named) == true)
        #expect(queue.add(named) == false)
        #expect(queue.position(of: "s_1") == 1)
        #expect(queue.next(forAgent: "carol", line: "line1")?.id == "early")
        #expect(queue.take(forAgent: "bob", line: "line9")?.id == "s_1")
        #expect(queue.take(forAgent: "bob", line: "line1")?.id == "early")
        #expect(queue.take(forAgent: "bob", line: "line1")?.id == "late")
    }

    @Test("line names")
    func lines() {
        #expect(SupportLine.isValid("line2"))
        #expect(SupportLine.isValid("network-team"))
        #expect(!SupportLine.isValid(""))
        #expect(!SupportLine.isValid("-line"))
        #expect(!SupportLine.isValid("Line2"))
        #expect(!SupportLine.isValid("line 2"))
        #expect(!SupportLine.isValid(String(repeating: "a", count: 33)))
    }
}
