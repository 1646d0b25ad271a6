/// The customers' post-session surveys over a period (§5.16), part of `GET /v1/audit/stats`:
/// overall and per agent, tier and line. Definitions in
/// [protocol/README.md § Statistics](../../protocol/README.md#114-statistics).
public struct SurveyStats: Sendable, Equatable, Codable {
    public struct Figures: Sendable, Equatable, Codable {
        /// Sessions a customer joined, and those whose customer answered.
        public var sessions: Int
        public var responses: Int
        public var responseRate: Double?
        /// Customer-reported first-contact resolution: answers with `solved: yes`, over answers.
        public var solvedRate: Double?
        /// The agents' view of the same sessions: `resolved` over answered sessions with an outcome.
        public var agentResolvedRate: Double?
        /// CSAT: scores 4–5 over answers; and the average score (1–5).
        public var csat: Double?
        public var averageScore: Double?
        /// NPS (-100…100): % of 9–10 minus % of 0–6, over the answers that have one.
        public var nps: Double?
        public var npsResponses: Int

        init(sessions: [SessionRecord], answers: [String: AuditEvent]) {
            let answered = sessions.compactMap { session in answers[session.id].map { (session, $0) } }
            let scores = answered.compactMap { Int($0.1.detail["score"] ?? "") }
            let npsScores = answered.compactMap { Int($0.1.detail["nps"] ?? "") }
            let withOutcome = answered.filter { $0.0.outcome != nil }
            func share(_ part: Int, of whole: Int) -> Double? { whole == 0 ? nil : Double(part) / Double(whole) }
            self.sessions = sessions.count
            responses = answered.count
            responseRate = share(answered.count, of: sessions.count)
            solvedRate = share(answered.filter { $0.1.detail["solved"] == "yes" }.count, of: answered.count)
            agentResolvedRate = share(withOutcome.filter { $0.0.outcome == .resolved }.count, of: withOutcome.count)
            csat = share(scores.filter { $0 >= 4 }.count, of: scores.count)
            averageScore = scores.isEmpty ? nil : Double(scores.reduce(0, +)) / Double(scores.count)
            npsResponses = npsScores.count
            nps =
                npsScores.isEmpty
                ? nil : 100 * Double(npsScores.filter { $0 >= 9 }.count - npsScores.filter { $0 <= 6 }.count) / Double(npsScores.count)
        }
    }

    public var overall: Figures
    public var byAgent: [String: Figures]
    /// By the queue's tier and line of each session; `none` for a session joined with a code.
    public var byTier: [String: Figures]
    public var byLine: [String: Figures]

    /// The surveys of `sessions` (those a customer joined count), from `events`: their
    /// `survey.answered` (the first of each session) and `queue.answered` (tier and line).
    public init(sessions records: [SessionRecord], events: [AuditEvent]) {
        let joined = records.filter { $0.customerJoinedAt != nil }
        let ids = Set(joined.map(\.id))
        var answers: [String: AuditEvent] = [:]
        var queued: [String: AuditEvent] = [:]
        for event in events {
            guard let id = event.sessionID, ids.contains(id) else { continue }
            if event.kind == .surveyAnswered, answers[id] == nil { answers[id] = event }
            if event.kind == .queueAnswered, queued[id] == nil { queued[id] = event }
        }
        func grouped(_ key: (SessionRecord) -> String) -> [String: Figures] {
            Dictionary(grouping: joined, by: key).mapValues { Figures(sessions: $0, answers: answers) }
        }
        overall = Figures(sessions: joined, answers: answers)
        byAgent = grouped(\.agent)
        byTier = grouped { queued[$0.id]?.detail["tier"] ?? "none" }
        byLine = grouped { queued[$0.id]?.detail["line"] ?? "none" }
    }
}
