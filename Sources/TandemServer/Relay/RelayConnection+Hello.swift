import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What each kind of hello asks for: open a session, join one with a code, wait in the
/// queue, or take from the queue (protocol/README.md §5.1, §16).
extension RelayConnection {
    /// The active agent (or admin) whose API token or console sign-in the hello carries;
    /// nil after refusing the connection (4401, 4403).
    private func agent(_ hello: Hello, outbox: ParticipantOutbox) async throws -> UserRecord? {
        var found: UserRecord?
        if let token = hello.token, ConsoleTokens.isWellFormed(token) {
            if let name = await hub.consoleUser(token: token) { found = try await hub.store.user(name: name) }
        } else if let token = hello.token, APIToken.isWellFormed(token) {
            found = try await hub.store.user(tokenHash: APIToken.hash(token))
        }
        guard let user = found, user.isActive else {
            refuse(.unauthorized, outbox: outbox, message: "missing, unknown or revoked token")
            return nil
        }
        guard user.role.canStartSessions else {
            refuse(.forbidden, outbox: outbox, message: "role \(user.role.rawValue) cannot start sessions")
            return nil
        }
        // Proven: the connection leaves the anonymous budget of its network for the agents' one.
        if let ticket = outbox.ticket, !admission.authenticate(ticket) {
            statistics.metrics.upgradeRefused("too-many-agent-connections")
            refuse(.rateLimited, outbox: outbox, message: "too many agent connections from this network", identifier: .tooManyConnections)
            return nil
        }
        return user
    }

    func openSession(_ hello: Hello, outbox: ParticipantOutbox, logger: inout Logger) async throws -> Binding? {
        guard let user = try await agent(hello, outbox: outbox) else { return nil }
        guard let start = hello.start, TicketID.isValid(start.ticket) else {
            refuse(.badRequest, outbox: outbox, message: "start.ticket must be 1-64 printable characters without spaces")
            return nil
        }
        guard let (session, created) = try await hub.open(agent: user, start: start, agentOutbox: outbox) else {
            refuse(
                .tryAgainLater, outbox: outbox,
                message: "the broker already holds \(configuration.maxPendingJoinCodes) unused join codes; try again when customers have joined or codes expired"
            )
            return nil
        }
        logger[metadataKey: "tandem.session.id"] = "\(session.id)"
        logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
        _ = outbox.enqueue(.sessionCreated(created))
        return Binding(session: session, role: .agent)
    }

    func joinSession(_ hello: Hello, outbox: ParticipantOutbox, address: ClientAddress, logger: inout Logger) async throws -> Binding? {
        let code = hello.code.flatMap(JoinCodeFormat.normalize)
        // The key of the join link (§3.1); a malformed one is ignored like a wrong one.
        let key = hello.key.flatMap { JoinLink.isWellFormedKey($0) ? $0 : nil }
        let client = hello.client.map { String($0.prefix(128)) }
        switch try await hub.join(code: code, key: key, client: client, address: address.ip, network: address.network, customerOutbox: outbox) {
        case .rejected(let closeCode):
            refuse(closeCode, outbox: outbox, message: closeCode.reason)
            return nil
        case .elsewhere(let url):
            refuse(.otherBroker, outbox: outbox, message: "this code belongs to another broker of this service", redirect: url)
            return nil
        case .throttled(let retryAfter, let scope):
            let who = scope == .network ? "from your network" : "on this service"
            refuse(.joinThrottled, outbox: outbox, message: "too many wrong join codes were tried \(who); try again in \(retryAfter) s", retryAfter: retryAfter)
            return nil
        case .joined(let session):
            logger[metadataKey: "tandem.session.id"] = "\(session.id)"
            logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
            return Binding(session: session, role: .customer)
        }
    }

    /// `watch` (§18): an admin joins a live session as a supervisor.
    func watchSession(_ hello: Hello, outbox: ParticipantOutbox, logger: inout Logger) async throws -> Binding? {
        guard let user = try await agent(hello, outbox: outbox), let watch = hello.watch else { return nil }
        guard user.role.canSupervise else {
            refuse(.forbidden, outbox: outbox, message: "only admins join sessions as supervisors")
            return nil
        }
        switch try await hub.watch(watch, by: user, outbox: outbox) {
        case .notFound:
            refuse(.unknownSession, outbox: outbox, message: "no live session \(watch.sessionID) on this broker")
            return nil
        case .watching(let session, let watcher):
            logger[metadataKey: "tandem.session.id"] = "\(session.id)"
            logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
            return Binding(session: session, role: .agent, watcher: watcher)
        }
    }

    /// `take` (§16): the next customer or transferred session of the line, for this agent.
    func takeSession(_ hello: Hello, outbox: ParticipantOutbox, logger: inout Logger) async throws -> Binding? {
        guard let user = try await agent(hello, outbox: outbox) else { return nil }
        let line = hello.take?.line ?? SupportLine.first
        guard SupportLine.isValid(line) else {
            refuse(.badRequest, outbox: outbox, message: "take.line must be 1-32 characters of a-z, 0-9 and -, like line2")
            return nil
        }
        switch try await hub.take(agent: user, hello.take ?? .init(), outbox: outbox) {
        case .empty:
            refuse(.queueEmpty, outbox: outbox, message: "nobody is waiting in \(line) (and nothing was transferred to \(user.name))")
            return nil
        case .assigned(let session):
            logger[metadataKey: "tandem.session.id"] = "\(session.id)"
            logger[metadataKey: "tandem.ticket"] = "\(session.ticket)"
            return Binding(session: session, role: .agent)
        }
    }

    /// `queue` (§16): a customer without a code waits for an agent.
    func enterQueue(_ hello: Hello, outbox: ParticipantOutbox, address: ClientAddress) async throws -> QueueWaiter? {
        guard let request = hello.queue, TicketID.isValid(request.ticket) else {
            refuse(.badRequest, outbox: outbox, message: "queue.ticket must be 1-64 printable characters without spaces")
            return nil
        }
        guard request.line.map(SupportLine.isValid) ?? true else {
            refuse(.badRequest, outbox: outbox, message: "queue.line must be 1-32 characters of a-z, 0-9 and -, like line1")
            return nil
        }
        let client = hello.client.map { String($0.prefix(128)) }
        switch try await hub.enterQueue(request, client: client, address: address, outbox: outbox) {
        case .entered(let waiter):
            return waiter
        case .full:
            refuse(.tryAgainLater, outbox: outbox, message: "the queue is full; please try again in a few minutes", identifier: .queueFull)
        case .networkLimit(let cap):
            refuse(.queueLimit, outbox: outbox, message: "your network already holds \(cap) places in the queue; wait in one of them")
        case .badLink(let verdict):
            let expired = verdict == .expired
            refuse(
                .helpLinkRefused, outbox: outbox,
                message: expired ? "this help link has expired; ask your helpdesk for a new one" : "this help link is not valid; ask your helpdesk for a new one",
                identifier: expired ? "help-link-expired" : "help-link-invalid"
            )
        case .throttled(let retryAfter, let scope):
            let who = scope == .network ? "from your network" : "on this service"
            refuse(
                .joinThrottled, outbox: outbox, message: "too many queue entries \(who) lately; try again in \(retryAfter) s",
                retryAfter: retryAfter, identifier: .queueThrottled
            )
        }
        return nil
    }
}
