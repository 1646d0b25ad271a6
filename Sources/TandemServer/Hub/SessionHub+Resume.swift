import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Reconnecting (protocol/README.md §5.13): a participant whose connection drops is away for
/// the grace period; with its resume token it comes back to the same session.
extension SessionHub {
    /// Remembers `token` as the only resume token of `role` in the session; returns it.
    func registerResumeToken(_ token: String, sessionID: String, role: ParticipantRole) -> String {
        let hash = APIToken.hash(token)
        if let old = resumeTokenOf[sessionID]?[role] { resumeTokens[old] = nil }
        resumeTokens[hash] = (sessionID, role)
        resumeTokenOf[sessionID, default: [:]][role] = hash
        return token
    }

    /// `outbox`'s connection of `role` closed without `session.end` (or was found dead).
    /// With a grace period the participant is away and the other side is told; without one,
    /// or when the session already ended, it ends as before.
    func disconnected(_ session: LiveSession, role: ParticipantRole, outbox: ParticipantOutbox) async {
        let now = Date()
        let until = now.addingTimeInterval(configuration.reconnectGrace.seconds)
        guard let action = session.drop(role, outbox: outbox, at: now, until: until) else { return }
        switch action {
        case .awaitReturn(let until):
            do {
                try await store.recordEvent(
                    sessionID: session.id,
                    kind: .participantDisconnected,
                    actor: session.actor(role),
                    detail: ["role": role.rawValue, "graceSeconds": String(Int(configuration.reconnectGrace.seconds))],
                    at: now
                )
            } catch {
                logger.error("Could not record a disconnection", metadata: ["tandem.session.id": "\(session.id)"])
            }
            _ = session.outbox(for: role.peer)?.enqueue(.peerAway(PeerPresence(role: role, until: until)))
            session.tellWatchers(.peerAway(PeerPresence(role: role, until: until)))
            logger.info(
                "Participant disconnected; waiting for it to resume",
                metadata: ["tandem.session.id": "\(session.id)", "tandem.role": "\(role.rawValue)"]
            )
        case .end(let ending):
            await finish(session, ending: ending)
        case .alreadyEnded:
            break
        }
    }

    enum ResumeResult: Sendable {
        case resumed(LiveSession)
        case rejected
        /// Too many failed resumes from this network, or on the broker, lately (§13.1): refused
        /// without a log entry; try again after this many seconds.
        case throttled(retryAfter: Int, scope: AnonymousWriteLimiter.Scope)
    }

    /// Reattaches a participant that presents a resume token of `role` from `client`. A valid
    /// token always works; a failed one is logged while the network's and the broker's
    /// budgets for failed resumes last.
    func resume(token: String, role: ParticipantRole, client: ClientAddress, outbox: ParticipantOutbox) async throws -> ResumeResult {
        let now = Date()
        let address = client.ip
        guard ResumeToken.isWellFormed(token), let entry = resumeTokens[APIToken.hash(token)], entry.role == role,
            let session = sessions[entry.sessionID]
        else {
            if let throttled = try await spendAnonymousWrite(.resume, kind: .resumeThrottled, address: client, at: now) {
                metrics.resumeFailed("throttled")
                return .throttled(retryAfter: throttled.retryAfter, scope: throttled.scope)
            }
            var detail = ["role": role.rawValue]
            if let address { detail["address"] = address }
            metrics.joinFailed(.resumeRefused)
            metrics.resumeFailed("refused")
            try await store.recordEvent(sessionID: nil, kind: .resumeFailed, actor: role.rawValue, detail: detail, at: now)
            return .rejected
        }
        let next = ResumeToken.generate()
        var detail = ["role": role.rawValue]
        if let address { detail["address"] = address }
        try await store.recordEvent(sessionID: session.id, kind: .participantReconnected, actor: session.actor(role), detail: detail, at: now)
        traces.record(.participantReconnected, sessionID: session.id, role: role)
        let resumed = session.resume(role, outbox: outbox, at: now) { peerPresent, agent in
            SessionResumed(
                sessionID: session.id,
                role: role,
                ticket: session.ticket,
                mode: session.mode,
                agent: agent,
                peerPresent: peerPresent,
                resumeToken: next
            )
        }
        guard let (since, replaced) = resumed else { return .rejected }
        _ = registerResumeToken(next, sessionID: session.id, role: role)
        replaced?.finish(.replaced)
        let back = ControlMessage.peerBack(PeerPresence(role: role, codecs: outbox.codecs))
        _ = session.outbox(for: role.peer)?.enqueue(back)
        session.tellWatchers(back)
        logger.info(
            "Participant resumed",
            metadata: [
                "tandem.session.id": "\(session.id)", "tandem.role": "\(role.rawValue)",
                "tandem.away.seconds": "\(Int(now.timeIntervalSince(since)))",
            ]
        )
        return .resumed(session)
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
