import ArgumentParser
import Foundation
import NIOCore
import NIOWebSocket
import TandemProtocol

/// What `tandem bench` measures (`--scenario`; bench/README.md describes each).
enum BenchScenario: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// N sessions × F fps × S bytes, customer → agent, with annotations: relay CPU and latency.
    case frames
    /// Frames as fast as the sender's socket takes them: MB/s delivered and drops.
    case flatOut = "flat-out"
    /// Small control messages (chat, pointer annotations) flat out, within an in-flight window.
    case control
    /// The same at a fixed rate per session: broker CPU per message at ordinary rates.
    case controlPaced = "control-paced"
    /// N paired sessions left idle: broker memory per connection.
    case idle
    /// N sessions set up, many at once: pairs per second.
    case setup
    /// A receiver that stops reading its socket while the sender keeps streaming.
    case stall
    /// Rounds of N sessions that connect, exchange a little and end: the broker's RSS per round.
    case rounds

    /// Sessions when `--sessions` is not given.
    var defaultSessions: Int {
        switch self {
        case .frames: 4
        case .flatOut: 1
        case .control: 8
        case .controlPaced: 64
        case .idle: 1000
        case .setup: 1000
        case .stall: 1
        case .rounds: 500
        }
    }

    /// Frame payload bytes when `--size` is not given.
    var defaultSize: Int {
        switch self {
        case .flatOut: 64 << 10
        case .rounds: 20_000
        default: 200_000
        }
    }

    /// Whether the bench broker gets rate caps far above what a connection can send.
    var raisesRates: Bool {
        self == .flatOut || self == .control
    }
}

/// Which small control messages the control scenarios send (each about 200 bytes of JSON).
enum ControlKind: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// `chat` lines (relayed with `from`).
    case chat
    /// Pointer annotations on the customer's stream (validated, relayed with `author`, never kept).
    case pointer
    /// Chat and pointer annotations in turn.
    case mixed

    /// The messages, each encoded and framed once (``LoadFrame``), sent in turn.
    var frames: [WebSocketFrame] {
        messages.map(LoadFrame.text)
    }

    /// The JSON sizes of the messages, for the report.
    var messageBytes: [Int] {
        messages.map { $0.jsonText.utf8.count }
    }

    private var messages: [ControlMessage] {
        // 175 characters of text: {"text":"…","type":"chat"} is 200 bytes.
        let sentence = "Could you point the camera at the back of the router, please? The cable on the left. "
        let text = String(String(repeating: sentence, count: 3).prefix(175))
        let chat = ControlMessage.chat(Chat(text: text))
        // A pointer with a 50-character id: 200 bytes.
        let shape = Shape(id: "pointer-" + String(repeating: "0", count: 42), kind: .pointer, points: [[0.25, 0.75]])
        let pointer = ControlMessage.annotation(.add(shape, owner: .customer, streamID: LoadPair.stream.streamID))
        switch self {
        case .chat: return [chat]
        case .pointer: return [pointer]
        case .mixed: return [chat, pointer]
        }
    }

    /// Whether the customer needs a live stream (pointers annotate stream 1).
    var needsStream: Bool { self != .chat }
}

extension Bench {
    /// Prints `report` as JSON (`--json`) or `text` line by line.
    func emit(_ report: some Encodable, text: String) throws {
        if json {
            try sayJSON(report)
        } else {
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) { say(String(line)) }
        }
    }
}

/// Report arithmetic that never yields NaN or infinity (JSON has neither).
enum BenchMath {
    static func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        denominator > 0 && numerator.isFinite ? numerator / denominator : 0
    }

    static func megabytes(_ bytes: Int) -> Double {
        Double(bytes) / 1_000_000
    }

    static func format(_ value: Double, _ decimals: Int = 1) -> String {
        String(format: "%.\(decimals)f", value)
    }
}
