/// What an agent on a presence connection says about itself (protocol/README.md §20.1):
/// `hello.presence`, and the body of `presence.set`, where an absent `lines`, `skills` or
/// `maxSessions` keeps what the broker has.
public struct Presence: Sendable, Equatable, Codable {
    public static let maxLines = 16
    public static let maxSkills = 16
    public static let sessionRange = 1...8
    public static let defaultMaxSessions = 1

    /// `available` or `away`.
    public var state: AgentState
    public var lines: [String]?
    public var skills: [String]?
    public var maxSessions: Int?

    public init(state: AgentState, lines: [String]? = nil, skills: [String]? = nil, maxSessions: Int? = nil) {
        self.state = state
        self.lines = lines
        self.skills = skills
        self.maxSessions = maxSessions
    }

    /// The member that breaks §20.1's limits, or nil.
    public var invalidField: String? {
        if !state.isChoosable { return "state" }
        if let lines, lines.isEmpty || lines.count > Self.maxLines || !lines.allSatisfy(SupportLine.isValid) { return "lines" }
        if let skills, !Skill.isValidList(skills, max: Self.maxSkills) { return "skills" }
        if let maxSessions, !Self.sessionRange.contains(maxSessions) { return "maxSessions" }
        return nil
    }
}

/// Skill names (§20.1, §20.2): like line names, 1–32 characters `a-z`, `0-9`, `-`.
public enum Skill {
    public static func isValid(_ skill: String) -> Bool { SupportLine.isValid(skill) }

    /// At most `max` valid names, none twice.
    public static func isValidList(_ skills: [String], max: Int) -> Bool {
        skills.count <= max && skills.allSatisfy(isValid) && Set(skills).count == skills.count
    }
}
