import HummingbirdWebSocket
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
    /// What a hello led to.
    enum Greeting {
        case bound(Binding)
        /// A customer waiting in the queue (§16) until an agent takes it.
        case queued(QueueWaiter)
        /// An agent's presence connection (§20.1).
        case present(String)
        /// An admin's floor connection (§20.6).
        case floor
        case refused
    }

    /// Handles the connection's first message, which must be a hello. The caller binds the
    /// connection or queues it according to the result.
    func hello(_ message: WebSocketMessage, _ connection: ParticipantConnection) async -> Greeting {
        guard case .text(let text) = message, text.utf8.count <= configuration.limits.helloMessageSize,
            case .hello(let hello) = try? ControlMessage.decode(text: text)
        else {
            connection.refuse(.badRequest, message: "the first message must be a hello (protocol/README.md §5.1)")
            return .refused
        }
        guard hello.protocolVersion == TandemWire.version else {
            connection.refuse(.unsupportedVersion, message: "this broker speaks protocol \(TandemWire.version)")
            return .refused
        }
        connection.outbox.codecs = hello.codecs
        do {
            if let token = hello.resume {
                switch try await hub.resume(token: token, role: hello.role, client: connection.client, outbox: connection.outbox) {
                case .resumed(let session):
                    // A returning agent leaves the anonymous budget as at its first hello (its
                    // resume token proved it); if the agents' budget is full it keeps its slot.
                    if hello.role == .agent, let ticket = connection.outbox.ticket { _ = admission.authenticate(ticket) }
                    return .bound(Binding(session: session, role: hello.role))
                case .rejected:
                    connection.refuse(
                        .resumeRefused,
                        message: "the session cannot be resumed: it ended, the grace period passed, or the token is unknown"
                    )
                    return .refused
                case .throttled(let retryAfter, let scope):
                    let who = scope == .network ? "from your network" : "on this service"
                    connection.refuse(
                        .joinThrottled,
                        message: "too many failed resumes \(who) lately; try again in \(retryAfter) s",
                        retryAfter: retryAfter,
                        identifier: .resumeThrottled
                    )
                    return .refused
                }
            }
            switch hello.role {
            case .agent where hello.watch != nil:
                return try await watchSession(hello, connection).map(Greeting.bound) ?? .refused
            case .agent where hello.presence != nil:
                return try await goOnline(hello, connection) ?? .refused
            case .agent where hello.floor != nil:
                return try await openFloor(hello, connection) ?? .refused
            case .agent where hello.take != nil:
                return try await takeSession(hello, connection).map(Greeting.bound) ?? .refused
            case .agent:
                return try await openSession(hello, connection).map(Greeting.bound) ?? .refused
            case .customer where hello.queue != nil && hello.code == nil:
                return try await enterQueue(hello, connection).map(Greeting.queued) ?? .refused
            case .customer:
                return try await joinSession(hello, connection).map(Greeting.bound) ?? .refused
            }
        } catch {
            connection.logger.error("Hello failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            connection.outbox.abandon(.internalError)
            return .refused
        }
    }

    /// The active agent (or admin) whose API token or console sign-in the hello carries;
    /// nil after refusing the connection (4401, 4403).
    private func agent(_ hello: Hello, _ connection: ParticipantConnection) async throws -> UserRecord? {
        var found: UserRecord?
        if let token = hello.token, ConsoleTokens.isWellFormed(token) {
            if let name = await hub.consoleUser(token: token) { found = try await hub.store.user(name: name) }
        } else if let token = hello.token, APIToken.isWellFormed(token) {
            found = try await hub.store.user(tokenHash: APIToken.hash(token))
        }
        guard let user = found, user.isActive else {
            connection.refuse(.unauthorized, message: "missing, unknown or revoked token")
            return nil
        }
        guard user.role.canStartSessions else {
            connection.refuse(.forbidden, message: "role \(user.role.rawValue) cannot start sessions")
            return nil
        }
        // Proven: the connection leaves the anonymous budget of its network for the agents' one.
        if let ticket = connection.outbox.ticket, !admission.authenticate(ticket) {
            statistics.metrics.upgradeRefused("too-many-agent-connections")
            connection.refuse(.rateLimited, message: "too many agent connections from this network", identifier: .tooManyConnections)
            return nil
        }
        return user
    }

    func openSession(_ hello: Hello, _ connection: ParticipantConnection) async throws -> Binding? {
        guard let user = try await agent(hello, connection) else { return nil }
        guard let start = hello.start, TicketID.isValid(start.ticket) else {
            connection.refuse(.badRequest, message: "start.ticket must be 1-64 printable characters without spaces")
            return nil
        }
        guard let (session, created) = try await hub.open(agent: user, start: start, agentOutbox: connection.outbox) else {
            connection.refuse(
                .tryAgainLater,
                message:
                    "the broker already holds \(configuration.maxPendingJoinCodes) unused join codes; try again when customers have joined or codes expired"
            )
            return nil
        }
        connection.send(.sessionCreated(created))
        return Binding(session: session, role: .agent)
    }

    func joinSession(_ hello: Hello, _ connection: ParticipantConnection) async throws -> Binding? {
        let code = hello.code.flatMap(JoinCodeFormat.normalize)
        // The key of the join link (§3.1); a malformed one is ignored like a wrong one.
        let key = hello.key.flatMap { JoinLink.isWellFormedKey($0) ? $0 : nil }
        let client = hello.client.map { String($0.prefix(128)) }
        let address = connection.client
        switch try await hub.join(
            code: code,
            key: key,
            client: client,
            address: address.ip,
            network: address.network,
            customerOutbox: connection.outbox
        ) {
        case .rejected(let closeCode):
            connection.refuse(closeCode, message: closeCode.reason)
            return nil
        case .elsewhere(let url):
            connection.refuse(.otherBroker, message: "this code belongs to another broker of this service", redirect: url)
            return nil
        case .throttled(let retryAfter, let scope):
            let who = scope == .network ? "from your network" : "on this service"
            connection.refuse(
                .joinThrottled,
                message: "too many wrong join codes were tried \(who); try again in \(retryAfter) s",
                retryAfter: retryAfter
            )
            return nil
        case .joined(let session):
            return Binding(session: session, role: .customer)
        }
    }

    /// `watch` (§18): an admin joins a live session as a supervisor.
    func watchSession(_ hello: Hello, _ connection: ParticipantConnection) async throws -> Binding? {
        guard let user = try await agent(hello, connection), let watch = hello.watch else { return nil }
        guard user.role.canSupervise else {
            connection.refuse(.forbidden, message: "only admins join sessions as supervisors")
            return nil
        }
        switch try await hub.watch(watch, by: user, outbox: connection.outbox) {
        case .notFound:
            connection.refuse(.unknownSession, message: "no live session \(watch.sessionID) on this broker")
            return nil
        case .watching(let session, let watcher):
            return Binding(session: session, role: .agent, watcher: watcher)
        }
    }

    /// `take` (§16): the next customer or transferred session of the line, for this agent.
    func takeSession(_ hello: Hello, _ connection: ParticipantConnection) async throws -> Binding? {
        guard let user = try await agent(hello, connection) else { return nil }
        let line = hello.take?.line ?? SupportLine.first
        guard SupportLine.isValid(line) else {
            connection.refuse(.badRequest, message: "take.line must be 1-32 characters of a-z, 0-9 and -, like line2")
            return nil
        }
        switch try await hub.take(agent: user, hello.take ?? .init(), outbox: connection.outbox) {
        case .empty:
            connection.refuse(.queueEmpty, message: "nobody is waiting in \(line) (and nothing was transferred to \(user.name))")
            return nil
        case .elsewhere(let url):
            connection.refuse(
                .otherBroker,
                message: "the next customer for you waits on another broker of this service; it is held for you there",
                redirect: url
            )
            return nil
        case .offerGone:
            connection.refuse(
                .queueEmpty,
                message: "this offer is no longer open: it timed out, went to someone else, or the customer left",
                identifier: .offerGone
            )
            return nil
        case .assigned(let session):
            return Binding(session: session, role: .agent)
        }
    }

    /// `presence` (§20.1): an agent goes online and is offered customers on this connection.
    func goOnline(_ hello: Hello, _ connection: ParticipantConnection) async throws -> Greeting? {
        guard let user = try await agent(hello, connection), let presence = hello.presence else { return nil }
        if let field = presence.invalidField {
            connection.refuse(.badRequest, message: "presence.\(field) is out of range (protocol/README.md §20.1)")
            return nil
        }
        await hub.goOnline(user, presence, outbox: connection.outbox)
        return .present(user.name)
    }

    /// `floor` (§20.6): an admin watches the floor.
    func openFloor(_ hello: Hello, _ connection: ParticipantConnection) async throws -> Greeting? {
        guard let user = try await agent(hello, connection) else { return nil }
        guard user.role.canSupervise else {
            connection.refuse(.forbidden, message: "only admins watch the floor")
            return nil
        }
        guard await hub.floorOpened(connection.outbox, user: user.name) else {
            connection.refuse(.rateLimited, message: "the floor already has its most viewers; close another one", identifier: .tooManyConnections)
            return nil
        }
        return .floor
    }

    /// `queue` (§16): a customer without a code waits for an agent.
    func enterQueue(_ hello: Hello, _ connection: ParticipantConnection) async throws -> QueueWaiter? {
        guard let request = hello.queue, TicketID.isValid(request.ticket) else {
            connection.refuse(.badRequest, message: "queue.ticket must be 1-64 printable characters without spaces")
            return nil
        }
        guard request.line.map(SupportLine.isValid) ?? true else {
            connection.refuse(.badRequest, message: "queue.line must be 1-32 characters of a-z, 0-9 and -, like line1")
            return nil
        }
        let client = hello.client.map { String($0.prefix(128)) }
        switch try await hub.enterQueue(request, client: client, address: connection.client, outbox: connection.outbox) {
        case .entered(let waiter):
            return waiter
        case .full:
            connection.refuse(.tryAgainLater, message: "the queue is full; please try again in a few minutes", identifier: .queueFull)
        case .networkLimit(let cap):
            connection.refuse(.queueLimit, message: "your network already holds \(cap) places in the queue; wait in one of them")
        case .badLink(let verdict):
            let expired = verdict == .expired
            connection.refuse(
                .helpLinkRefused,
                message: expired
                    ? "this help link has expired; ask your helpdesk for a new one" : "this help link is not valid; ask your helpdesk for a new one",
                identifier: expired ? "help-link-expired" : "help-link-invalid"
            )
        case .throttled(let retryAfter, let scope):
            let who = scope == .network ? "from your network" : "on this service"
            connection.refuse(
                .joinThrottled,
                message: "too many queue entries \(who) lately; try again in \(retryAfter) s",
                retryAfter: retryAfter,
                identifier: .queueThrottled
            )
        }
        return nil
    }
}
