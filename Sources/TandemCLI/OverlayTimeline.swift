import Foundation
import TandemProtocol

/// `tandem replay`'s `overlays.jsonl` (protocol/README.md §19): every recorded control message
/// that changes what is drawn on a stream — `annotation`, `freeze`, `unfreeze`,
/// `overlay.snapshot`, `stream.start`, `stream.stop` — in recording order, one JSON object per
/// line: `t` (milliseconds since the recording's first entry), `at` (RFC 3339), `from` (who
/// sent it, `agent` or `customer`) and `message` (the control message as recorded). Tandem's
/// JSON conventions (``TandemJSON``): sorted keys, and peer-supplied text (shape ids, text
/// shapes) escaped by the encoder, so no line holds a line break of its own.
struct OverlayTimeline {
    private struct Line: Encodable {
        var milliseconds: Int64
        var time: Date
        var from: ParticipantRole
        var message: ControlMessage

        enum CodingKeys: String, CodingKey {
            case milliseconds = "t"
            case time = "at"
            case from
            case message
        }
    }

    /// µs since 1970 of the recording's first entry: `t` counts from it.
    let originMicros: UInt64
    /// The lines so far, each ended by a line feed.
    private(set) var data = Data()
    private(set) var count = 0
    private let encoder = TandemJSON.makeEncoder()

    init(originMicros: UInt64) {
        self.originMicros = originMicros
    }

    /// Whether `message` goes into the timeline.
    static func includes(_ message: ControlMessage) -> Bool {
        switch message {
        case .annotation, .freeze, .unfreeze, .overlaySnapshot, .track, .streamStart, .streamStop: true
        default: false
        }
    }

    /// Adds a line for `message` when the timeline ``includes(_:)`` it.
    mutating func add(_ message: ControlMessage, from owner: ParticipantRole, timeMicros: UInt64) throws {
        guard Self.includes(message) else { return }
        let line = Line(
            milliseconds: (Int64(clamping: timeMicros) - Int64(clamping: originMicros)) / 1000,
            time: Date(timeIntervalSince1970: Double(timeMicros) / 1_000_000),
            from: owner,
            message: message
        )
        data.append(try encoder.encode(line))
        data.append(0x0A)
        count += 1
    }
}
