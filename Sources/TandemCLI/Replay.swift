import ArgumentParser
import Crypto
import Foundation
import NIOCore
import TandemClient
import TandemCore
import TandemProtocol

/// `tandem replay`: export a session's recording (§19), checked against the audit log.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Export a recorded session: its frames, and each frame with the annotations drawn on it (SVG), after checking the recording against the audit log.",
        discussion: """
            Writes DIR/SESSION.tdrec (the recording), DIR/frames/ (the frames as sent) and DIR/annotated/ (one SVG per frame: the \
            frame with the overlay of that moment). Open the .tdrec in the broker's player page, /replay. Auditors, admins and \
            the session's agent. Exit 1 when the recording does not match the SHA-256 in the audit log.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var tokenOptions: TokenOptions
    @Argument(help: "Session id (s_...).") var session: String
    @Option(help: "Folder to write to (created).") var out: String

    func run() async throws {
        let session = self.session
        let (closed, data) = try await withAPI(connection, tokenOptions, refusal: "cannot read the recording of \(session)") {
            api -> (AuditEvent, ByteBuffer) in
            let closed = try await Self.closedEvent(api, session: session)
            do {
                return (closed, try await api.recording(sessionID: session))
            } catch let failure as TandemAPIClient.Failure where failure.status == 404 {
                throw CLIFailure(
                    "the recording file of \(session) is missing on the broker, though the audit log has its SHA-256 "
                        + "(\(closed.detail["sha256"] ?? "-"), event #\(closed.seq)): it was deleted or moved, or another broker recorded the session"
                )
            }
        }
        let digest = SHA256.hash(data: data.readableBytesView).lowercaseHex
        guard digest == closed.detail["sha256"], String(data.readableBytes) == closed.detail["bytes"] else {
            throw CLIFailure(
                "the recording does not match the audit log (sha256 \(digest), logged \(closed.detail["sha256"] ?? "-")): it was altered or cut"
            )
        }
        try FileManager.default.createDirectory(atPath: out + "/frames", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: out + "/annotated", withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: "\(out)/\(session).tdrec", contents: Data(data.readableBytesView)) else {
            throw CLIFailure("cannot write \(out)/\(session).tdrec")
        }
        let counts = try export(data)
        say("Recording of \(session) matches the audit log (sha256 \(digest), event #\(closed.seq)).")
        say(
            "Wrote \(counts.frames) frames to \(out)/frames and \(counts.frames) annotated frames (\(counts.annotated) with annotations) to \(out)/annotated."
        )
        if counts.videoFrames > 0 {
            say("Wrote \(counts.videoFrames) video frames to \(out)/video, one IVF file per stream (ffmpeg and VLC play them).")
        }
        if let dropped = closed.detail["dropped"], dropped != "0" {
            say("Note: \(dropped) entries were dropped while recording (the disk was too slow).")
        }
        if let recovered = closed.detail["recovered"] {
            let cut = closed.detail["truncatedBytes"].flatMap { $0 == "0" ? nil : " (a torn last entry of \($0) bytes was cut off)" } ?? ""
            say(
                "Note: the broker stopped during this session (\(recovered)); the recording was closed and hashed when it started again, "
                    + "so it ends where the broker stopped\(cut)."
            )
        }
        say("Play it in a browser: open \(connection.server)/replay and choose \(out)/\(session).tdrec.")
    }

    /// The session's `recording.closed`, or a failure saying why there is none: the session
    /// is live (still recording, or not recorded), was not recorded, or its recording was
    /// never closed (the broker that recorded it stopped and has not started again).
    static func closedEvent(_ api: TandemAPIClient, session: String) async throws -> AuditEvent {
        // The broker logs recording.closed right after the session ends.
        for _ in 0..<50 {
            let timeline = try await api.timeline(sessionID: session)
            if let closed = timeline.events.last(where: { $0.kind == .recordingClosed }) { return closed }
            let started = timeline.events.contains { $0.kind == .recordingStarted }
            guard timeline.session.isEnded else {
                throw CLIFailure(
                    started
                        ? "session \(session) is still recording: it is live; its recording is closed and its SHA-256 logged when it ends, replay it then"
                        : "session \(session) is live and nothing of it is recorded"
                )
            }
            guard started else { throw CLIFailure("session \(session) was not recorded") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw CLIFailure(
            "the recording of \(session) was started but never closed, so its SHA-256 is not in the audit log: "
                + "the broker that recorded it stopped; it closes the recordings it left open when it starts again"
        )
    }

    /// Replays the entries into a session activity (streams, overlays) and writes each frame
    /// with the overlay of its moment.
    private func export(_ data: ByteBuffer) throws -> (frames: Int, annotated: Int, videoFrames: Int) {
        var buffer = data
        guard RecordingEntry.readMagic(from: &buffer) else { throw CLIFailure("not a Tandem recording") }
        // The broker bounded the overlays when it recorded them.
        var activity = SessionActivity(overlayLimits: .unlimited)
        var frames = 0
        var annotated = 0
        var videoFrames = 0
        // VP8, VP9 and AV1 streams, each as one IVF file (created with the first such stream).
        var video: FrameSaver?
        while let entry = try RecordingEntry.decode(from: &buffer) {
            let time = Date(timeIntervalSince1970: Double(entry.timeMicros) / 1_000_000)
            switch entry {
            case .control(let owner, _, let json):
                guard let message = try? ControlMessage.decode(text: json) else { continue }
                apply(message, from: owner, at: time, to: &activity)
                if case .streamStart(let start) = message, IVFFile.fourCC(start.codec) != nil {
                    if video == nil { video = try FrameSaver(directory: "\(out)/video") }
                    video?.started(start, from: start.owner ?? owner)
                }
            case .media(let owner, _, let message):
                guard let frame = try? MediaFrame.decodeMessage(message) else { continue }
                let key = StreamKey(owner: owner, streamID: frame.header.streamID)
                let name = FrameSaver.baseName(frame, from: owner)
                let image = "\(name).\(FrameSaver.fileExtension(frame.header.codec))"
                FileManager.default.createFile(atPath: "\(out)/frames/\(image)", contents: Data(frame.payload.readableBytesView))
                if IVFFile.fourCC(frame.header.codec) != nil {
                    if video == nil { video = try FrameSaver(directory: "\(out)/video") }
                    video?.save(frame, from: owner)
                    videoFrames += 1
                }
                // Annotated stills for image frames; video and audio frames are kept as received.
                guard [.jpeg, .png, .webp].contains(frame.header.codec) else { continue }
                let stream = activity.streams[key]
                let shapes = activity.overlays[key]?.shapes(at: time) ?? []
                let svg = AnnotatedFrameSVG.render(
                    imageHref: "../frames/\(image)",
                    width: stream?.width ?? 1280,
                    height: stream?.height ?? 720,
                    shapes: shapes
                )
                FileManager.default.createFile(atPath: "\(out)/annotated/\(name).svg", contents: Data(svg.utf8))
                frames += 1
                if !shapes.isEmpty { annotated += 1 }
            }
        }
        guard buffer.readableBytes == 0 else { throw CLIFailure("the recording ends in the middle of an entry") }
        return (frames, annotated, videoFrames)
    }

    private func apply(_ message: ControlMessage, from owner: ParticipantRole, at time: Date, to activity: inout SessionActivity) {
        switch message {
        case .streamStart(let start):
            _ = activity.start(start, by: start.owner ?? owner)
        case .streamStop(let ref):
            _ = activity.change(ref, by: ref.owner ?? owner, stopping: true)
        case .annotation(let annotation):
            _ = activity.annotate(annotation, by: annotation.author ?? owner, now: time)
        case .overlaySnapshot(let snapshot):
            // The overlay when recording started: its shapes, as if drawn then (a `continued`
            // snapshot adds to the one before it).
            for shape in snapshot.shapes {
                _ = activity.annotate(.add(shape, owner: snapshot.owner, streamID: snapshot.streamID), by: shape.author ?? .agent, now: time)
            }
        default:
            break
        }
    }
}
