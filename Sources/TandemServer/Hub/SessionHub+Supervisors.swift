import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Supervisors (protocol/README.md §18): an admin joins a live session as an observer or a
/// participant; everyone in it is told who is present; joining and leaving are logged.
extension SessionHub {
    enum WatchResult: Sendable {
        case watching(LiveSession, SessionWatcher)
        /// No live session with that id on this broker.
        case notFound
    }

    func watch(_ request: Hello.Watch, by user: UserRecord, outbox: ParticipantOutbox) async throws -> WatchResult {
        guard let session = sessions[request.sessionID], !session.isEnded else { return .notFound }
        let now = Date()
        let watcher = SessionWatcher(name: user.name, participate: request.participate, outbox: outbox)
        try await store.recordEvent(
            sessionID: session.id,
            kind: .supervisorJoined,
            actor: user.name,
            detail: ["supervisor": user.name, "mode": request.participate ? "participant" : "observer"],
            at: now
        )
        let added = session.addWatcher(watcher, now: now) { agent, customerPresent in
            SessionWatching(
                sessionID: session.id,
                ticket: session.ticket,
                mode: session.mode,
                agent: agent,
                customerPresent: customerPresent,
                participate: request.participate
            )
        }
        guard added else { return .notFound }
        helpArrived(sessionID: session.id)
        session.announcePresence()
        logger.info("Supervisor joined", metadata: ["tandem.session.id": "\(session.id)", "tandem.supervisor": "\(user.name)"])
        return .watching(session, watcher)
    }

    /// The supervisor's connection closed (or it sent `session.end`): it leaves; the session goes on.
    func unwatch(_ session: LiveSession, _ watcher: SessionWatcher) async {
        guard session.removeWatcher(watcher), !session.isEnded else { return }
        do {
            try await store.recordEvent(
                sessionID: session.id,
                kind: .supervisorLeft,
                actor: watcher.name,
                detail: ["supervisor": watcher.name],
                at: Date()
            )
        } catch {
            logger.error("Could not record a supervisor leaving", metadata: ["tandem.session.id": "\(session.id)"])
        }
        session.announcePresence()
    }

    /// What `GET /v1/sessions/live` lists.
    func liveSessions() -> LiveSessionList {
        LiveSessionList(
            sessions: sessions.values.sorted { $0.createdAt < $1.createdAt }.map { session in
                LiveSessionList.Entry(
                    id: session.id,
                    ticket: session.ticket,
                    agent: session.agentName,
                    mode: session.mode,
                    createdAt: session.createdAt,
                    customerPresent: session.outbox(for: .customer) != nil,
                    transferring: session.isTransferring,
                    supervisors: session.watchers.map(\.name)
                )
            }
        )
    }
}
