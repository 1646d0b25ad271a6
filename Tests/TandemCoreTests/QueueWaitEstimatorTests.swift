import Foundation
import TandemCore
import Testing

@Suite("The queue's wait estimate (§16), step by step")
struct QueueWaitEstimatorTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// `count` sessions on `line` taken by `agents` in turn, each handled `handle` seconds.
    func history(_ estimator: inout QueueWaitEstimator, line: String = "line1", count: Int, handle: Double, agents: [String] = ["alice"]) {
        for index in 0..<count {
            let taken = t0.addingTimeInterval(Double(index) * 10)
            estimator.answered(line: line, agent: agents[index % agents.count], at: taken)
            estimator.ended(line: line, handleSeconds: handle, at: taken.addingTimeInterval(handle))
        }
    }

    @Test("no estimate until three of the line's sessions ended")
    func needsHistory() {
        var estimator = QueueWaitEstimator()
        history(&estimator, count: 2, handle: 300)
        #expect(estimator.estimate(line: "line1", position: 1, now: t0.addingTimeInterval(600)) == nil)
        history(&estimator, count: 3, handle: 300)
        #expect(estimator.estimate(line: "line1", position: 1, now: t0.addingTimeInterval(600)) == 300)
    }

    @Test("position × median handle time ÷ agents, rounded up")
    func formula() {
        var estimator = QueueWaitEstimator()
        history(&estimator, count: 4, handle: 300, agents: ["alice", "bob"])
        estimator.ended(line: "line1", handleSeconds: 1000, at: t0.addingTimeInterval(500))
        // Handles 300, 300, 300, 300, 1000: median 300; two agents.
        #expect(estimator.estimate(line: "line1", position: 3, now: t0.addingTimeInterval(600)) == 450)
        #expect(estimator.estimate(line: "line1", position: 0, now: t0.addingTimeInterval(600)) == nil)
        #expect(estimator.estimate(line: "line2", position: 1, now: t0.addingTimeInterval(600)) == nil)
    }

    @Test("only the last hour counts; the estimate is capped at a day")
    func window() {
        var estimator = QueueWaitEstimator()
        history(&estimator, count: 3, handle: 40_000)
        #expect(estimator.estimate(line: "line1", position: 9, now: t0.addingTimeInterval(40_100)) == QueueWaitEstimator.maxEstimate)
        #expect(estimator.estimate(line: "line1", position: 1, now: t0.addingTimeInterval(40_000 + 3 * 3600)) == nil)
    }

    @Test("memory is bounded: the least recently answered line is forgotten")
    func bounded() {
        var estimator = QueueWaitEstimator()
        history(&estimator, line: "old", count: 3, handle: 60)
        for index in 0..<QueueWaitEstimator.maxLines {
            estimator.answered(line: "line-\(index)", agent: "alice", at: t0.addingTimeInterval(1000 + Double(index)))
        }
        #expect(estimator.estimate(line: "old", position: 1, now: t0.addingTimeInterval(2000)) == nil)
    }
}
