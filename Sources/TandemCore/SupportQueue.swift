import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Who waits for an agent, per line (protocol/README.md §16): customers who asked for help
/// without a code, and sessions an agent transferred (§17).
///
/// An agent taking work from a line gets, first, the oldest session transferred to it by
/// name, then the line's entry of the highest tier that waited longest. Pure logic, no I/O.
public struct SupportQueue: Sendable {
    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// A customer connection waiting without a session.
            case customer
            /// A live session handed over by the agent `from`.
            case transfer(from: String)
        }

        /// The queue entry's id (`q_…`) for a customer; the session id for a transfer.
        public var id: String
        public var kind: Kind
        public var ticket: String
        public var tier: SupportTier
        public var mode: SessionMode
        public var line: String
        /// A transfer to a named agent: only that agent takes it.
        public var forAgent: String?
        public var enteredAt: Date
        public var note: String?
        /// What the agent must know (§20.2), from a signed help link.
        public var skills: [String]
        /// The line it overflowed from (§20.3); an entry overflows at most once.
        public var overflowedFrom: String?

        public init(
            id: String,
            kind: Kind,
            ticket: String,
            tier: SupportTier,
            mode: SessionMode,
            line: String,
            forAgent: String? = nil,
            enteredAt: Date,
            note: String? = nil,
            skills: [String] = []
        ) {
            self.skills = skills
            self.overflowedFrom = nil
            self.id = id
            self.kind = kind
            self.ticket = ticket
            self.tier = tier
            self.mode = mode
            self.line = line
            self.forAgent = forAgent
            self.enteredAt = enteredAt
            self.note = note
        }

        /// Taken before `other` from the same line: higher tier, then earlier.
        public func precedes(_ other: Entry) -> Bool {
            if tier != other.tier { return tier > other.tier }
            if enteredAt != other.enteredAt { return enteredAt < other.enteredAt }
            return id < other.id
        }
    }

    /// At most this many entries; ``add(_:)`` refuses more.
    public let capacity: Int
    private var entries: [String: Entry] = [:]

    public init(capacity: Int = 1000) {
        self.capacity = capacity
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    /// Adds `entry`; false when the queue is full or the id is already queued.
    public mutating func add(_ entry: Entry) -> Bool {
        guard entries.count < capacity, entries[entry.id] == nil else { return false }
        entries[entry.id] = entry
        return true
    }

    /// Removes and returns the entry with this id (the customer left, the session ended).
    @discardableResult
    public mutating func remove(id: String) -> Entry? {
        entries.removeValue(forKey: id)
    }

    public func entry(id: String) -> Entry? { entries[id] }

    /// Moves a waiting entry to `line` (overflow, §20.3), keeping its tier and time of entry.
    @discardableResult
    public mutating func move(id: String, toLine line: String) -> Entry? {
        guard var entry = entries[id], entry.forAgent == nil else { return nil }
        entry.overflowedFrom = entry.line
        entry.line = line
        entries[id] = entry
        return entry
    }

    /// Undoes ``move(id:toLine:)`` after it could not be logged: the entry may overflow again.
    public mutating func clearOverflow(id: String) {
        entries[id]?.overflowedFrom = nil
    }

    /// Every entry in the order offers go out (§20.2): highest tier, then longest wait, across lines.
    public var byPrecedence: [Entry] {
        entries.values.sorted { $0.precedes($1) }
    }

    /// What `agent` taking work from `line` would get (not one of `excluding`).
    public func next(forAgent agent: String, line: String, excluding: Set<String> = []) -> Entry? {
        let open = entries.values.lazy.filter { !excluding.contains($0.id) }
        if let directed = open.filter({ $0.forAgent == agent }).min(by: { $0.precedes($1) }) { return directed }
        return open.filter { $0.forAgent == nil && $0.line == line }.min { $0.precedes($1) }
    }

    /// Removes and returns what `agent` taking work from `line` gets (not one of `excluding`).
    public mutating func take(forAgent agent: String, line: String, excluding: Set<String> = []) -> Entry? {
        guard let entry = next(forAgent: agent, line: line, excluding: excluding) else { return nil }
        entries[entry.id] = nil
        return entry
    }

    /// 1 for the entry taken next from its line (or by its named agent).
    public func position(of id: String) -> Int? {
        guard let entry = entries[id] else { return nil }
        let rivals = entries.values.filter { $0.forAgent == entry.forAgent && (entry.forAgent != nil || $0.line == entry.line) }
        return rivals.filter { $0.precedes(entry) }.count + 1
    }

    /// Every entry: by line (directed transfers after the lines), then in the order they are taken.
    public var ordered: [Entry] {
        entries.values.sorted { a, b in
            let keyA = a.forAgent.map { "~" + $0 } ?? a.line
            let keyB = b.forAgent.map { "~" + $0 } ?? b.line
            return keyA != keyB ? keyA < keyB : a.precedes(b)
        }
    }
}
