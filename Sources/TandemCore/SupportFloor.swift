import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The agents present on the floor and the offers out to them (protocol/README.md §20.1,
/// §20.2). Decides who is offered which queue entry: the least busy eligible agent. Pure
/// logic, no I/O; the hub logs and sends what each method returns.
public struct SupportFloor: Sendable {
    /// An agent with a presence connection.
    public struct Agent: Sendable, Equatable {
        public var name: String
        /// `available` or `away`, as the agent (or a missed offer) set it.
        public var choice: AgentState
        public var lines: [String]
        public var skills: [String]
        public var maxSessions: Int
        /// When it came online or last changed state (shown on the floor).
        public var since: Date
        /// When it came online or last got a session: the longest idle is offered first.
        public var lastAssigned: Date
    }

    /// An entry offered to one agent until `until`.
    public struct Offer: Sendable, Equatable {
        public var id: String
        public var queueID: String
        public var agent: String
        public var offeredAt: Date
        public var until: Date
    }

    /// An offer made by ``route(entries:sessions:now:)``.
    public struct NewOffer: Sendable, Equatable {
        public var offer: Offer
        public var entry: SupportQueue.Entry
    }

    public let offerTimeout: TimeInterval
    public private(set) var agents: [String: Agent] = [:]
    public private(set) var offers: [String: Offer] = [:]
    private var offerOfEntry: [String: String] = [:]
    private var offerOfAgent: [String: String] = [:]
    /// Agents who refused (or ignored) an entry: not offered it again while others are
    /// eligible, and not before an offer timeout after the last refusal when nobody else is.
    private var refusals: [String: Set<String>] = [:]
    private var lastRefusal: [String: Date] = [:]

    public init(offerTimeout: TimeInterval = 15) {
        self.offerTimeout = offerTimeout
    }

    // MARK: presence

    public enum OnlineAction: Sendable, Equatable {
        /// A new presence: log it.
        case cameOnline(Agent)
        /// It was already online (a newer connection): log the change if anything changed.
        case replaced(Agent, changed: Bool)
    }

    /// `name` opened a presence connection saying `presence` (already validated).
    public mutating func online(_ name: String, _ presence: Presence, now: Date) -> OnlineAction {
        let agent = Agent(
            name: name,
            choice: presence.state,
            lines: presence.lines ?? [SupportLine.first],
            skills: presence.skills ?? [],
            maxSessions: presence.maxSessions ?? Presence.defaultMaxSessions,
            since: now,
            lastAssigned: agents[name]?.lastAssigned ?? now
        )
        if let old = agents[name] {
            agents[name] = agent
            return .replaced(agent, changed: !Self.sameSettings(old, agent))
        }
        agents[name] = agent
        return .cameOnline(agent)
    }

    public enum SetAction: Sendable, Equatable {
        case changed(Agent)
        case unchanged(Agent)
        case notOnline
    }

    /// `presence.set`: absent members keep their value.
    public mutating func set(_ name: String, _ presence: Presence, now: Date) -> SetAction {
        guard let old = agents[name] else { return .notOnline }
        var agent = old
        agent.choice = presence.state
        agent.lines = presence.lines ?? old.lines
        agent.skills = presence.skills ?? old.skills
        agent.maxSessions = presence.maxSessions ?? old.maxSessions
        guard !Self.sameSettings(old, agent) else { return .unchanged(old) }
        if agent.choice != old.choice { agent.since = now }
        agents[name] = agent
        return .changed(agent)
    }

    public enum OfflineAction: Sendable, Equatable {
        /// Log it offline; its open offer (if any) is refused as `agent-offline`.
        case wentOffline(Agent, openOffer: Offer?)
        case notOnline
    }

    /// The presence connection of `name` closed.
    public mutating func offline(_ name: String) -> OfflineAction {
        guard let agent = agents.removeValue(forKey: name) else { return .notOnline }
        let open = offerOfAgent[name].flatMap { removeOffer(id: $0) }
        if let open { refusals[open.queueID, default: []].insert(name) }
        return .wentOffline(agent, openOffer: open)
    }

    /// `name` got a session (taken, accepted): the least recently assigned is offered first.
    public mutating func assigned(_ name: String, now: Date) {
        agents[name]?.lastAssigned = now
    }

    /// The state others see (§20.1): `sessions` is its live sessions on this broker.
    public func state(of name: String, sessions: Int) -> AgentState {
        guard let agent = agents[name] else { return .offline }
        switch agent.choice {
        case .away: return .away
        case .available, .busy, .offline: return sessions >= agent.maxSessions ? .busy : .available
        }
    }

    // MARK: offers

    /// Offers every entry without an open offer to the least busy eligible agent, in the
    /// order entries are taken (`entries` sorted by ``SupportQueue/byPrecedence``).
    public mutating func route(entries: [SupportQueue.Entry], sessions: (String) -> Int, now: Date) -> [NewOffer] {
        var made: [NewOffer] = []
        for entry in entries where offerOfEntry[entry.id] == nil {
            let eligible = agents.values.filter { isEligible($0, for: entry, sessions: sessions) }
            guard !eligible.isEmpty else { continue }
            var candidates = eligible.filter { !(refusals[entry.id]?.contains($0.name) ?? false) }
            if candidates.isEmpty {
                // Everyone eligible refused it: ring them again rather than let it wait unseen,
                // but not at once (a declining agent would otherwise loop, and fill the log).
                guard now.timeIntervalSince(lastRefusal[entry.id] ?? .distantPast) >= offerTimeout else { continue }
                refusals[entry.id] = nil
                candidates = eligible
            }
            let best = candidates.min { a, b in
                let (sa, sb) = (sessions(a.name), sessions(b.name))
                if sa != sb { return sa < sb }
                if a.lastAssigned != b.lastAssigned { return a.lastAssigned < b.lastAssigned }
                return a.name < b.name
            }
            guard let best else { continue }
            let offer = Offer(
                id: "o_" + SessionID.generate().dropFirst(2),
                queueID: entry.id,
                agent: best.name,
                offeredAt: now,
                until: now.addingTimeInterval(offerTimeout)
            )
            offers[offer.id] = offer
            offerOfEntry[entry.id] = offer.id
            offerOfAgent[best.name] = offer.id
            made.append(NewOffer(offer: offer, entry: entry))
        }
        return made
    }

    private func isEligible(_ agent: Agent, for entry: SupportQueue.Entry, sessions: (String) -> Int) -> Bool {
        guard agent.choice == .available, offerOfAgent[agent.name] == nil, sessions(agent.name) < agent.maxSessions else { return false }
        if let named = entry.forAgent { return named == agent.name }
        // A session handed over to a line is not offered back to the agent who handed it over.
        if case .transfer(let from) = entry.kind, from == agent.name { return false }
        return agent.lines.contains(entry.line) && entry.skills.allSatisfy(agent.skills.contains)
    }

    /// The open offer of an entry, if any.
    public func offer(forEntry queueID: String) -> Offer? {
        offerOfEntry[queueID].flatMap { offers[$0] }
    }

    public enum AcceptAction: Sendable, Equatable {
        /// Take exactly this entry.
        case take(Offer)
        /// Not this agent's offer, or no longer open (`offer-gone`).
        case gone
    }

    /// `hello.take` with `offer`.
    public mutating func accept(offerID: String, by agent: String, now: Date) -> AcceptAction {
        guard let offer = offers[offerID], offer.agent == agent, offer.until > now else { return .gone }
        removeOffer(id: offerID)
        refusals[offer.queueID] = nil
        lastRefusal[offer.queueID] = nil
        agents[agent]?.lastAssigned = now
        return .take(offer)
    }

    public enum DeclineAction: Sendable, Equatable {
        /// Log `queue.offer-refused` (`declined`) and route again.
        case declined(Offer)
        case unknown
    }

    /// `queue.decline`.
    public mutating func decline(offerID: String, by agent: String, now: Date) -> DeclineAction {
        guard let offer = offers[offerID], offer.agent == agent else { return .unknown }
        removeOffer(id: offerID)
        refused(offer.queueID, by: agent, now: now)
        return .declined(offer)
    }

    /// Offers past their time: each is refused (`timeout`) and its agent set away (`missed-offer`).
    public mutating func expire(now: Date) -> [Offer] {
        let due = offers.values.filter { $0.until <= now }.sorted { $0.until < $1.until }
        for offer in due {
            removeOffer(id: offer.id)
            refused(offer.queueID, by: offer.agent, now: now)
            if agents[offer.agent] != nil {
                agents[offer.agent]?.choice = .away
                agents[offer.agent]?.since = now
            }
        }
        return due
    }

    /// Removes one open offer (it could not be logged or claimed); the entry stays offerable.
    @discardableResult
    public mutating func withdraw(offerID: String) -> Offer? {
        removeOffer(id: offerID)
    }

    /// The agent's open offer, if any.
    public func openOffer(of agent: String) -> Offer? {
        offerOfAgent[agent].flatMap { offers[$0] }
    }

    /// Forgets the refusals of entries no longer in `queueIDs` (taken on another broker).
    public mutating func forgetRefusals(keeping queueIDs: Set<String>) {
        refusals = refusals.filter { queueIDs.contains($0.key) }
        lastRefusal = lastRefusal.filter { queueIDs.contains($0.key) }
    }

    /// The entry left the queue (taken, customer left, overflowed): its open offer, withdrawn.
    @discardableResult
    public mutating func entryGone(_ queueID: String) -> Offer? {
        refusals[queueID] = nil
        lastRefusal[queueID] = nil
        return offerOfEntry[queueID].flatMap { removeOffer(id: $0) }
    }

    private mutating func refused(_ queueID: String, by agent: String, now: Date) {
        refusals[queueID, default: []].insert(agent)
        lastRefusal[queueID] = now
    }

    @discardableResult
    private mutating func removeOffer(id: String) -> Offer? {
        guard let offer = offers.removeValue(forKey: id) else { return nil }
        offerOfEntry[offer.queueID] = nil
        if offerOfAgent[offer.agent] == id { offerOfAgent[offer.agent] = nil }
        return offer
    }

    private static func sameSettings(_ a: Agent, _ b: Agent) -> Bool {
        a.choice == b.choice && a.lines == b.lines && a.skills == b.skills && a.maxSessions == b.maxSessions
    }
}
