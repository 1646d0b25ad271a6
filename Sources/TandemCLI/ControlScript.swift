import Foundation
import TandemClient
import TandemProtocol

/// Control messages to send, one JSON object per line, from a file or standard input
/// (`--annotations FILE|-`).
///
/// Each line is a control message of protocol/README.md (`annotation`, `freeze`, `unfreeze`,
/// `chat`, `stream.*`), or `{"sleepMs": N}` to pause. Blank lines and lines starting with
/// `#` are skipped. A bad line stops the script with its line number.
struct ControlScript: Sendable {
    let source: String

    enum Step: Sendable {
        case send(ControlMessage)
        case sleep(Duration)
    }

    private struct Sleep: Decodable { var sleepMs: Int }

    static func parse(_ line: String, number: Int) throws -> Step? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return nil }
        if let sleep = try? JSONDecoder().decode(Sleep.self, from: Data(trimmed.utf8)) {
            return .sleep(.milliseconds(max(0, min(sleep.sleepMs, 600_000))))
        }
        let message: ControlMessage
        do {
            message = try ControlMessage.decode(text: trimmed)
        } catch {
            throw CLIFailure("--annotations line \(number): \(error)")
        }
        switch message {
        case .annotation, .freeze, .unfreeze, .chat, .streamStart, .streamStop, .streamPause, .streamResume, .streamControl:
            return .send(message)
        default:
            throw CLIFailure("--annotations line \(number): \(message.type) cannot be sent from a script")
        }
    }

    /// The lines of the source, read as they come (standard input is read on its own thread).
    func lines() -> AsyncThrowingStream<String, any Error> {
        let (stream, continuation) = AsyncThrowingStream<String, any Error>.makeStream(bufferingPolicy: .bufferingOldest(256))
        if source == "-" {
            let thread = Thread {
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
            thread.start()
        } else {
            do {
                let text = try String(contentsOfFile: source, encoding: .utf8)
                for line in text.split(separator: "\n", omittingEmptySubsequences: false) { continuation.yield(String(line)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: CLIFailure("cannot read --annotations \(source): \(error.localizedDescription)"))
            }
        }
        return stream
    }

    /// Sends every step in order.
    func run(on outbound: TandemOutbound) async throws {
        var number = 0
        for try await line in lines() {
            number += 1
            switch try Self.parse(line, number: number) {
            case .send(let message): try await outbound.send(message)
            case .sleep(let duration): try await Task.sleep(for: duration)
            case nil: continue
            }
        }
    }

    /// Runs the script (a bad line is reported, not fatal), then stays attached: the
    /// session ends as usual, not when the script does.
    func runThenStay(on outbound: TandemOutbound) async throws {
        do {
            try await run(on: outbound)
        } catch let error as CLIFailure {
            printError("Error: \(error)")
        }
        try await Task.sleep(for: .seconds(365 * 24 * 3600))
    }
}

/// One line describing an annotation-related message, for the live display.
func describe(_ message: ControlMessage) -> String? {
    switch message {
    case .annotation(let annotation):
        let who = annotation.author?.rawValue ?? "peer"
        let target = "\(annotation.owner.rawValue) stream \(annotation.streamID)"
        switch annotation.op {
        case .add: return "\(who) drew \(annotation.shape?.kind.rawValue ?? "a shape") \(annotation.shape?.id ?? "") on \(target)"
        case .append: return nil
        case .remove: return "\(who) removed \(annotation.id ?? "a shape") on \(target)"
        case .undo: return "\(who) undid \(annotation.id ?? "a shape") on \(target)"
        case .clear: return "\(who) cleared \(target)"
        }
    case .freeze(let freeze):
        return "\(freeze.author?.rawValue ?? "peer") froze \(freeze.owner.rawValue) stream \(freeze.streamID) at frame \(freeze.sequence ?? 0)"
    case .unfreeze(let freeze): return "\(freeze.author?.rawValue ?? "peer") unfroze \(freeze.owner.rawValue) stream \(freeze.streamID)"
    case .streamStart(let start):
        return
            "\(start.owner?.rawValue ?? "peer") started stream \(start.streamID): \(start.source.rawValue) \(start.codec.name) \(start.width)x\(start.height) @ \(start.fps) fps"
    case .streamStop(let ref): return "\(ref.owner?.rawValue ?? "peer") stopped stream \(ref.streamID)"
    case .streamPause(let ref): return "\(ref.owner?.rawValue ?? "peer") paused stream \(ref.streamID)"
    case .streamResume(let ref): return "\(ref.owner?.rawValue ?? "peer") resumed stream \(ref.streamID)"
    case .streamControl(let control): return "\(control.origin?.rawValue ?? "peer") asks for \(control.action.rawValue) on stream \(control.streamID)"
    case .consent(let consent):
        let recording =
            consent.recording == true ? " and to the recording" : consent.recording == false && consent.granted ? " but not to the recording" : ""
        return consent.granted
            ? "the customer agreed to share its \(consent.source?.rawValue ?? "view")\(recording)"
            : "the customer declined to share (no media will arrive)"
    case .overlaySnapshot(let snapshot):
        return "overlay of \(snapshot.owner.rawValue) stream \(snapshot.streamID): \(snapshot.shapes.count) shapes"
            + (snapshot.frozenSequence.map { ", frozen at \($0)" } ?? "")
    default: return nil
    }
}
