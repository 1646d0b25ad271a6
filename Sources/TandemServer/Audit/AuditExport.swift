import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sessions and audit events as CSV (RFC 4180, header row, UTF-8) or JSON lines, for
/// spreadsheets and other tools. Columns are documented in protocol/README.md § Export.
enum AuditExport {
    enum Format: String {
        case csv
        case jsonl
    }

    static let sessionColumns = [
        "id", "ticket", "agent", "mode", "created_at", "customer_joined_at", "ended_at", "wait_seconds", "connected_seconds",
        "duration_seconds", "outcome", "end_reason", "ended_by", "note", "customer_client", "customer_address",
        "frames_to_agent", "bytes_to_agent", "frames_to_customer", "bytes_to_customer", "chat_messages", "annotations", "freezes",
        "survey_solved", "survey_score", "survey_nps", "survey_comment",
    ]

    static let eventColumns = ["seq", "at", "session_id", "kind", "actor", "detail", "previous_hash", "hash"]

    /// `surveys`: the `survey.answered` event of each session that has one (§5.16), for the CSV's survey columns.
    static func sessions(_ sessions: some Sequence<SessionRecord>, surveys: [String: AuditEvent] = [:], format: Format) throws -> String {
        switch format {
        case .jsonl:
            return try jsonLines(sessions)
        case .csv:
            var rows = [sessionColumns]
            for record in sessions {
                rows.append([
                    record.id, record.ticket, record.agent, record.mode.rawValue, time(record.createdAt), time(record.customerJoinedAt),
                    time(record.endedAt), seconds(record.waitSeconds), seconds(record.connectedSeconds), seconds(record.durationSeconds),
                    record.outcome?.rawValue ?? "", record.endReason?.rawValue ?? "", record.endedBy ?? "", record.note ?? "",
                    record.customerClient ?? "", record.customerAddress ?? "",
                    String(record.traffic.customerToAgent.frames), String(record.traffic.customerToAgent.bytes),
                    String(record.traffic.agentToCustomer.frames), String(record.traffic.agentToCustomer.bytes),
                    String(record.chatMessages), String(record.annotations), String(record.freezes),
                    surveys[record.id]?.detail["solved"] ?? "", surveys[record.id]?.detail["score"] ?? "",
                    surveys[record.id]?.detail["nps"] ?? "", surveys[record.id]?.detail["comment"] ?? "",
                ])
            }
            return CSVTable.encode(rows)
        }
    }

    static func events(_ events: [AuditEvent], format: Format) throws -> String {
        switch format {
        case .jsonl:
            return try jsonLines(events)
        case .csv:
            let encoder = TandemJSON.makeEncoder()
            var rows = [eventColumns]
            for event in events {
                let detail = String(decoding: try encoder.encode(event.detail), as: UTF8.self)
                rows.append([
                    String(event.seq), time(event.at), event.sessionID ?? "", event.kind.rawValue, event.actor ?? "", detail, event.previousHash,
                    event.hash,
                ])
            }
            return CSVTable.encode(rows)
        }
    }

    private static func jsonLines(_ values: some Sequence<some Encodable>) throws -> String {
        let encoder = TandemJSON.makeEncoder()
        var text = ""
        for value in values {
            text += String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
        }
        return text
    }

    private static func time(_ date: Date?) -> String {
        date.map { $0.formatted(.iso8601) } ?? ""
    }

    private static func seconds(_ value: Double?) -> String {
        value.map { String(Double(Int(($0 * 1000).rounded())) / 1000) } ?? ""
    }
}
