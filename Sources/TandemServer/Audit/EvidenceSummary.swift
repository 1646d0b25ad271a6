import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `summary.html` of an evidence bundle (§11.9): the session and its timeline for people,
/// readable in any browser with no script and no network. Every text that came from a
/// peer or a user (ticket, note, details, names) is escaped.
enum EvidenceSummary {
    /// By Unicode scalar, not by Character: a `<` after a prepending mark (U+0600) is one
    /// Character that is not `<`, and would go out as markup.
    static func escape(_ text: String) -> String {
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result.append(contentsOf: "&amp;".unicodeScalars)
            case "<": result.append(contentsOf: "&lt;".unicodeScalars)
            case ">": result.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": result.append(contentsOf: "&quot;".unicodeScalars)
            case "'": result.append(contentsOf: "&#39;".unicodeScalars)
            default: result.append(scalar)
            }
        }
        return String(result)
    }

    private static func time(_ date: Date?) -> String {
        guard let date else { return "—" }
        return date.formatted(.iso8601)
    }

    private static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "—" }
        let whole = Int(seconds.rounded())
        return whole >= 3600 ? "\(whole / 3600) h \(whole % 3600 / 60) min" : "\(whole / 60) min \(whole % 60) s"
    }

    static func html(session: SessionRecord, events: [AuditEvent], manifest: EvidenceManifest) -> String {
        let rows: [(String, String)] = [
            ("Session", session.id), ("Ticket", session.ticket), ("Agent", session.agent), ("Mode", session.mode.rawValue),
            ("Started", time(session.createdAt)), ("Customer joined", time(session.customerJoinedAt)),
            ("Ended", time(session.endedAt)), ("Duration", duration(session.durationSeconds)),
            ("Outcome", session.outcome?.rawValue ?? "—"), ("End reason", session.endReason?.rawValue ?? "—"),
            ("Ended by", session.endedBy ?? "—"), ("Note", session.note ?? "—"),
        ]
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <title>Tandem evidence: session \(escape(session.id))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#1d2430;padding:0 1em}
            h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
            table{border-collapse:collapse;width:100%}th,td{text-align:left;vertical-align:top;padding:.3em .6em;border-bottom:1px solid #dde2ea}
            th{background:#f3f5f8}td.k{width:12em;color:#4a5568}code{font-size:12px;word-break:break-all}
            .detail{color:#4a5568;font-size:13px}
            </style></head><body>
            <h1>Support session \(escape(session.id)) — ticket \(escape(session.ticket))</h1>
            <p>This file is part of a Tandem evidence bundle (format <code>\(escape(manifest.format))</code>). It is for reading only:
            what proves the record is <code>manifest.json</code>, <code>events.json</code> and the broker's signatures, checked with
            <code>tandem audit verify --bundle FILE</code> or <code>protocol/verify_bundle.py FILE</code>.</p>
            <h2>Session</h2><table>

            """
        for (key, value) in rows {
            html += "<tr><td class=\"k\">\(escape(key))</td><td>\(escape(value))</td></tr>\n"
        }
        html +=
            "</table>\n<h2>Timeline (\(events.count) events)</h2>\n<table><tr><th>Time</th><th>#</th><th>Who</th><th>What</th><th>Details</th></tr>\n"
        for event in events {
            let detail = event.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            html += "<tr><td>\(escape(time(event.at)))</td><td>\(event.seq)</td><td>\(escape(event.actor ?? "—"))</td>"
            html += "<td>\(escape(event.kind.rawValue))</td><td class=\"detail\">\(escape(detail))</td></tr>\n"
        }
        html += "</table>\n<h2>Recording</h2>\n<p>"
        if let recording = manifest.recording {
            html += "\(recording.bytes) bytes, SHA-256 <code>\(escape(recording.sha256))</code>; "
            html += recording.included ? "in this bundle as <code>\(escape(recording.name))</code>." : "left out of this bundle."
        } else {
            html += "The session was not recorded."
        }
        html += """
            </p>
            <h2>Proof</h2><table>
            <tr><td class="k">Signed tree head</td><td>\(manifest.treeHead.size) events from #\(manifest.treeHead.firstSeq), signed \(escape(time(manifest.treeHead.at)))</td></tr>
            <tr><td class="k">Root</td><td><code>\(escape(manifest.treeHead.rootHash))</code></td></tr>
            <tr><td class="k">Broker key</td><td><code>\(escape(manifest.fingerprint))</code> (compare with <code>tandem audit key</code>)</td></tr>
            <tr><td class="k">Bundle made</td><td>\(escape(time(manifest.createdAt)))</td></tr>
            </table>
            </body></html>

            """
        return html
    }
}
