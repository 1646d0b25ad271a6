import DequeModule

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The estimated wait a queued customer is told (protocol/README.md §16): from its line's
/// recent handle times and the agents answering it.
///
/// Over the last hour, per line: `H`, the median handle time (customer joined → end) of the
/// line's sessions that ended, and `A`, the number of distinct agents who took a customer or
/// transfer from the line. A customer at `position` waits about `position × H / A`: each of
/// the A agents frees up once per H on average. Without 3 ended sessions on the line in the
/// hour there is no estimate. Bounded: the last 50 answers and handle times of at most 64
/// lines (the lines agents answer from; the least recently answered is forgotten).
public struct QueueWaitEstimator: Sendable {
    public static let window: TimeInterval = 3600
    public static let minimumSessions = 3
    public static let keepPerLine = 50
    public static let maxLines = 64
    /// Longer estimates are said as this (a day).
    public static let maxEstimate = 86_400

    private struct Line: Sendable {
        var answers = Deque<(agent: String, at: Date)>()
        var handles = Deque<(seconds: Double, endedAt: Date)>()
        var lastAnswer = Date.distantPast
    }

    private var lines: [String: Line] = [:]

    public init() {}

    /// An agent took a customer (or a transfer) from `line` at `at`.
    public mutating func answered(line: String, agent: String, at: Date) {
        if lines[line] == nil, lines.count >= Self.maxLines,
            let quietest = lines.min(by: { $0.value.lastAnswer < $1.value.lastAnswer })?.key
        {
            lines[quietest] = nil
        }
        var entry = lines[line] ?? Line()
        entry.answers.append((agent, at))
        if entry.answers.count > Self.keepPerLine { entry.answers.removeFirst() }
        entry.lastAnswer = at
        lines[line] = entry
    }

    /// A session taken from `line` ended at `at`, `handleSeconds` after its customer joined.
    public mutating func ended(line: String, handleSeconds: Double, at: Date) {
        guard var entry = lines[line] else { return }
        entry.handles.append((max(0, handleSeconds), at))
        if entry.handles.count > Self.keepPerLine { entry.handles.removeFirst() }
        lines[line] = entry
    }

    /// Seconds a customer at `position` of `line` may expect to wait, or nil without enough
    /// history. `agentsPresent`: the agents present for the line and not away (§20.4), which
    /// replaces the hour's distinct takers when agents keep presence.
    public func estimate(line: String, position: Int, now: Date, agentsPresent: Int? = nil) -> Int? {
        guard let entry = lines[line], position > 0 else { return nil }
        let since = now.addingTimeInterval(-Self.window)
        let handles = entry.handles.filter { $0.endedAt >= since }.map(\.seconds).sorted()
        guard handles.count >= Self.minimumSessions else { return nil }
        let median = handles.count % 2 == 1 ? handles[handles.count / 2] : (handles[handles.count / 2 - 1] + handles[handles.count / 2]) / 2
        let agents = max(1, agentsPresent ?? Set(entry.answers.filter { $0.at >= since }.map(\.agent)).count)
        let seconds = (Double(position) * median / Double(agents)).rounded(.up)
        return Int(min(seconds, Double(Self.maxEstimate)))
    }
}
