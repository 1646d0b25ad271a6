import TandemProtocol

extension Join {
    /// What a customer waiting in the queue is told (protocol/README.md §16, §20.4): the line,
    /// the place in it, the wait so far and, once the broker has one, its estimate.
    static func queueLine(_ status: QueueStatus) -> String {
        var line =
            "Waiting for an agent (\(status.line), \(status.tier.rawValue)): you are number \(status.position) in line, waited \(status.waitedSeconds) s."
        if let estimate = status.estimatedWaitSeconds { line += " Estimated wait: \(waitText(estimate))." }
        return line
    }

    /// "about 40 s", "about 3 min", "about 2 h 5 min".
    static func waitText(_ seconds: Int) -> String {
        switch seconds {
        case ..<60: "about \(max(seconds, 1)) s"
        case ..<3600: "about \((seconds + 30) / 60) min"
        default: "about \((seconds + 30) / 3600) h \((seconds + 30) / 60 % 60) min"
        }
    }
}
