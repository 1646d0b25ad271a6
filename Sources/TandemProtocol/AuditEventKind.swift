/// The `kind` of an audit event: the event kinds of protocol/README.md §11 (and the sections
/// that add to it), one constant each, so the broker never spells one by hand. Stored and
/// hashed as the plain string (§11.2); a kind this version does not know (written by a
/// newer broker on a shared database) reads as itself.
public struct AuditEventKind: WireIdentifier {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public static let audioStarted: AuditEventKind = "audio.started"
    public static let audioStopped: AuditEventKind = "audio.stopped"
    public static let auditPruned: AuditEventKind = "audit.pruned"
    public static let auditRollbackAccepted: AuditEventKind = "audit.rollback-accepted"
    public static let consentDenied: AuditEventKind = "consent.denied"
    public static let consentGranted: AuditEventKind = "consent.granted"
    public static let customerJoined: AuditEventKind = "customer.joined"
    public static let freezeEnded: AuditEventKind = "freeze.ended"
    public static let freezeStarted: AuditEventKind = "freeze.started"
    public static let joinFailed: AuditEventKind = "join.failed"
    public static let joinThrottled: AuditEventKind = "join.throttled"
    public static let outcomeRecorded: AuditEventKind = "outcome.recorded"
    public static let participantDisconnected: AuditEventKind = "participant.disconnected"
    public static let participantReconnected: AuditEventKind = "participant.reconnected"
    public static let queueAnswered: AuditEventKind = "queue.answered"
    public static let queueEntered: AuditEventKind = "queue.entered"
    public static let queueLeft: AuditEventKind = "queue.left"
    public static let queueThrottled: AuditEventKind = "queue.throttled"
    public static let recordingClosed: AuditEventKind = "recording.closed"
    public static let recordingStarted: AuditEventKind = "recording.started"
    public static let resumeFailed: AuditEventKind = "resume.failed"
    public static let resumeThrottled: AuditEventKind = "resume.throttled"
    public static let sessionCreated: AuditEventKind = "session.created"
    public static let sessionEnded: AuditEventKind = "session.ended"
    public static let sessionTransferred: AuditEventKind = "session.transferred"
    public static let streamPaused: AuditEventKind = "stream.paused"
    public static let streamResumed: AuditEventKind = "stream.resumed"
    public static let streamStarted: AuditEventKind = "stream.started"
    public static let streamStopped: AuditEventKind = "stream.stopped"
    public static let supervisorJoined: AuditEventKind = "supervisor.joined"
    public static let surveyAnswered: AuditEventKind = "survey.answered"
    public static let supervisorLeft: AuditEventKind = "supervisor.left"
    public static let transferAnswered: AuditEventKind = "transfer.answered"
    public static let userAdded: AuditEventKind = "user.added"
    public static let userRevoked: AuditEventKind = "user.revoked"
    public static let voiceDisabled: AuditEventKind = "voice.disabled"
    public static let voiceEnabled: AuditEventKind = "voice.enabled"
    public static let agentPresence: AuditEventKind = "agent.presence"
    public static let queueOffered: AuditEventKind = "queue.offered"
    public static let queueOfferRefused: AuditEventKind = "queue.offer-refused"
    public static let queueOverflowed: AuditEventKind = "queue.overflowed"
    public static let queueCallback: AuditEventKind = "queue.callback"
    public static let supervisorRequested: AuditEventKind = "supervisor.requested"

    /// Every kind the spec documents, for checks that the two agree.
    public static let documented: [AuditEventKind] = [
        .audioStarted,
        .audioStopped,
        .auditPruned,
        .auditRollbackAccepted,
        .consentDenied,
        .consentGranted,
        .customerJoined,
        .freezeEnded,
        .freezeStarted,
        .joinFailed,
        .joinThrottled,
        .outcomeRecorded,
        .participantDisconnected,
        .participantReconnected,
        .queueAnswered,
        .queueEntered,
        .queueLeft,
        .queueThrottled,
        .recordingClosed,
        .recordingStarted,
        .resumeFailed,
        .resumeThrottled,
        .sessionCreated,
        .sessionEnded,
        .sessionTransferred,
        .streamPaused,
        .streamResumed,
        .streamStarted,
        .streamStopped,
        .supervisorJoined,
        .supervisorLeft,
        .surveyAnswered,
        .transferAnswered,
        .userAdded,
        .userRevoked,
        .voiceDisabled,
        .voiceEnabled,
        .agentPresence,
        .queueOffered,
        .queueOfferRefused,
        .queueOverflowed,
        .queueCallback,
        .supervisorRequested,
    ]
}
