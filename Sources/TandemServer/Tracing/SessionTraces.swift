import TandemCore
import TandemProtocol
import Tracing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One span per session, from its start to its logged ending (`tandem.session`), with an event
/// for each turn of its life: the customer in, a participant back, a transfer and its answer.
/// Kept by the ``SessionHub`` actor; spans go to the process's tracer (none unless
/// `tandem serve --otel-endpoint` bootstrapped one).
///
/// Each span carries what the audit log already names openly (session id, agent, mode, end
/// reason, outcome, traffic totals), never a join code, a token, an address or text a peer
/// wrote (chat, notes, client names, the ticket a queued customer typed). Bounded by the live sessions: a span leaves at the ending.
struct SessionTraces {
    /// Event names: the audit event kinds they mirror (§11).
    enum Turn: String {
        case customerJoined = "customer.joined"
        case participantReconnected = "participant.reconnected"
        case transferred = "session.transferred"
        case transferAnswered = "transfer.answered"
    }

    private var spans: [String: any Span] = [:]

    var count: Int { spans.count }

    /// The session is logged as started; `via` is how its customer comes (`code` or `queue`).
    mutating func started(_ record: SessionRecord, via: String) {
        let span = startSpan("tandem.session", context: .topLevel, ofKind: .internal)
        span.attributes["tandem.session.id"] = record.id
        span.attributes["tandem.agent"] = record.agent
        span.attributes["tandem.session.mode"] = record.mode.rawValue
        span.attributes["tandem.session.via"] = via
        spans[record.id] = span
    }

    /// A turn of the session's life, logged already; `role` is whose turn it is when it matters.
    func record(_ turn: Turn, sessionID: String, role: ParticipantRole? = nil, agent: String? = nil) {
        guard let span = spans[sessionID] else { return }
        var attributes = SpanAttributes()
        if let role { attributes["tandem.role"] = role.rawValue }
        if let agent { attributes["tandem.agent"] = agent }
        span.addEvent(SpanEvent(name: turn.rawValue, attributes: attributes))
    }

    /// The ending is logged (`logged`) or could not be (the session closes with 1011 instead).
    mutating func ended(sessionID: String, ending: SessionEnding, logged: Bool) {
        guard let span = spans.removeValue(forKey: sessionID) else { return }
        span.attributes["tandem.session.end_reason"] = ending.reason.rawValue
        span.attributes["tandem.session.outcome"] = ending.outcome?.rawValue
        span.attributes["tandem.session.bytes_to_customer"] = Int(ending.traffic.agentToCustomer.bytes)
        span.attributes["tandem.session.bytes_to_agent"] = Int(ending.traffic.customerToAgent.bytes)
        span.addEvent(SpanEvent(name: "session.ended"))
        if !logged {
            span.setStatus(SpanStatus(code: .error, message: "the ending could not be written to the audit log"))
        }
        span.end()
    }
}
