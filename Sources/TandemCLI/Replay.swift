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
            "Export a recorded session: its frames, each image with the annotations drawn on it (SVG), its video and audio streams as files ffmpeg and VLC play, and its overlay timeline, after checking the recording against the audit log.",
        discussion: """
            Writes DIR/SESSION.tdrec (the recording), DIR/frames/ (the frames as sent), DIR/annotated/ (one SVG per image frame: \
            the frame with the overlay of that moment), DIR/video/ (each VP8, VP9 or AV1 stream as an .ivf file, each H.264 stream \
            as an Annex-B .h264 file), DIR/audio/ (each Opus stream as an Ogg Opus .opus file) and DIR/overlays.jsonl (every \
            annotation, freeze, unfreeze, overlay snapshot, stream start and stop: one JSON object per line). Open the .tdrec in \
            the broker's player page, /replay. Auditors, admins and the session's agent. Exit 1 when the recording does not match \
            the SHA-256 in the audit log.
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
        let exported = try export(data)
        say("Recording of \(session) matches the audit log (sha256 \(digest), event #\(closed.seq)).")
        say(
            "Wrote \(exported.frames) frames to \(out)/frames and \(exported.frames) annotated frames (\(exported.annotated) with annotations) to \(out)/annotated."
        )
        if !exported.video.isEmpty {
            let frames = exported.video.reduce(0) { $0 + $1.frames }
            say("Wrote \(frames) video frames to \(out)/video, one file per stream (ffmpeg and VLC play them):")
            for file in exported.video { say("  " + Self.describe(file)) }
        }
        if !exported.audio.isEmpty {
            let packets = exported.audio.reduce(0) { $0 + $1.frames }
            say("Wrote \(packets) audio packets to \(out)/audio, one Ogg Opus file per stream (ffmpeg and VLC play them):")
            for file in exported.audio { say("  " + Self.describe(file)) }
        }
        say(
            "Wrote the overlay timeline to \(out)/overlays.jsonl: \(exported.overlayChanges) annotations, freezes, snapshots, tracks, stream starts and stops, one JSON object per line."
        )
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

    /// What ``export(_:)`` wrote.
    private struct Exported {
        /// Image frames, each also as an annotated SVG.
        var frames = 0
        /// Annotated SVGs with shapes on them.
        var annotated = 0
        var video: [StreamFile.Summary] = []
        var audio: [StreamFile.Summary] = []
        /// Lines of overlays.jsonl.
        var overlayChanges = 0
    }

    /// A file's line in the summary: its path, codec, frames or packets, and size or length.
    static func describe(_ file: StreamFile.Summary) -> String {
        var size = ""
        if let picture = file.size, picture.width > 0, picture.height > 0 { size = ", \(picture.width)x\(picture.height)" }
        switch file.codec {
        case .opus:
            return "\(file.path): Ogg Opus, \(file.frames) packets, \(String(format: "%.2f", file.seconds ?? 0)) s"
        case .h264:
            return "\(file.path): H.264 Annex-B, \(file.frames) access units\(size)"
        default:
            return "\(file.path): \(file.codec.name.uppercased()) in IVF, \(file.frames) frames\(size)"
        }
    }

    /// Replays the entries into a session activity (streams, overlays) and writes each frame
    /// with the overlay of its moment, each video and audio stream as one file, and the
    /// overlay timeline.
    private func export(_ data: ByteBuffer) throws -> Exported {
        var buffer = data
        guard RecordingEntry.readMagic(from: &buffer) else { throw CLIFailure("not a Tandem recording") }
        // The broker bounded the overlays when it recorded them.
        var activity = SessionActivity(overlayLimits: .unlimited)
        var exported = Exported()
        // overlays.jsonl counts its times from the recording's first entry.
        var first = buffer
        var timeline = OverlayTimeline(originMicros: (try? RecordingEntry.decode(from: &first))?.timeMicros ?? 0)
        // Video streams in DIR/video (IVF, Annex-B), audio streams in DIR/audio (Ogg Opus);
        // each folder created with its first stream.
        var video: FrameSaver?
        var audio: FrameSaver?
        // The last image frame of each stream, until its track (§5.15) or the next frame comes.
        var stills: [StreamKey: PendingStill] = [:]
        func saver(for codec: MediaCodec) throws -> FrameSaver {
            if codec.isAudio {
                if let audio { return audio }
                let created = try FrameSaver(directory: "\(out)/audio")
                audio = created
                return created
            }
            if let video { return video }
            let created = try FrameSaver(directory: "\(out)/video")
            video = created
            return created
        }
        while let entry = try RecordingEntry.decode(from: &buffer) {
            let time = Date(timeIntervalSince1970: Double(entry.timeMicros) / 1_000_000)
            switch entry {
            case .control(let owner, let micros, let json):
                guard let message = try? ControlMessage.decode(text: json) else { continue }
                apply(message, from: owner, at: time, to: &activity)
                try timeline.add(message, from: owner, timeMicros: micros)
                // The track of the still waiting for it: the still is drawn with it. An earlier
                // one is the best so far (a recording may lack the still's own).
                if case .track(let track) = message, let key = track.owner.map({ StreamKey(owner: $0, streamID: track.streamID) }),
                    var still = stills[key], track.sequence <= still.sequence
                {
                    still.track = track
                    if track.sequence == still.sequence {
                        write(still, into: &exported)
                        stills[key] = nil
                    } else {
                        stills[key] = still
                    }
                }
                if case .streamStart(let start) = message {
                    if StreamFile.fileExtension(start.codec) != nil { _ = try saver(for: start.codec) }
                    // A stream announced again goes on in a new file, whatever its codec now.
                    video?.started(start, from: start.owner ?? owner)
                    audio?.started(start, from: start.owner ?? owner)
                }
            case .media(let owner, _, let message):
                guard let frame = try? MediaFrame.decodeMessage(message) else { continue }
                let key = StreamKey(owner: owner, streamID: frame.header.streamID)
                let name = FrameSaver.baseName(frame, from: owner)
                let image = "\(name).\(FrameSaver.fileExtension(frame.header.codec))"
                FileManager.default.createFile(atPath: "\(out)/frames/\(image)", contents: Data(frame.payload.readableBytesView))
                if StreamFile.fileExtension(frame.header.codec) != nil {
                    try saver(for: frame.header.codec).save(frame, from: owner)
                }
                // Annotated stills for image frames; video and audio frames are kept as received.
                guard [.jpeg, .png, .webp].contains(frame.header.codec) else { continue }
                // Written once the frame's own track (§5.15), which follows it, is known.
                if let earlier = stills.removeValue(forKey: key) { write(earlier, into: &exported) }
                let stream = activity.streams[key]
                stills[key] = PendingStill(
                    name: name,
                    image: image,
                    sequence: frame.header.sequence,
                    width: stream?.width ?? 1280,
                    height: stream?.height ?? 720,
                    shapes: activity.overlays[key]?.shapes(at: time) ?? [],
                    track: activity.tracks[key].flatMap { $0.sequence <= frame.header.sequence ? $0 : nil }
                )
            }
        }
        for still in stills.values { write(still, into: &exported) }
        guard buffer.readableBytes == 0 else { throw CLIFailure("the recording ends in the middle of an entry") }
        video?.close()
        audio?.close()
        exported.video = video?.streamFiles ?? []
        exported.audio = audio?.streamFiles ?? []
        guard FileManager.default.createFile(atPath: "\(out)/overlays.jsonl", contents: timeline.data) else {
            throw CLIFailure("cannot write \(out)/overlays.jsonl")
        }
        exported.overlayChanges = timeline.count
        return exported
    }

    /// An image frame whose annotated SVG waits for its track.
    private struct PendingStill {
        var name: String
        var image: String
        var sequence: UInt32
        var width: Int
        var height: Int
        var shapes: [Shape]
        /// The still's own track, else the newest before it (§5.15).
        var track: Track?
    }

    /// Writes `still` as an annotated SVG, its anchored shapes placed by its track.
    private func write(_ still: PendingStill, into exported: inout Exported) {
        let svg = AnnotatedFrameSVG.render(
            imageHref: "../frames/\(still.image)",
            width: still.width,
            height: still.height,
            shapes: still.shapes,
            track: still.track
        )
        FileManager.default.createFile(atPath: "\(out)/annotated/\(still.name).svg", contents: Data(svg.utf8))
        exported.frames += 1
        if !still.shapes.isEmpty { exported.annotated += 1 }
    }

    private func apply(_ message: ControlMessage, from owner: ParticipantRole, at time: Date, to activity: inout SessionActivity) {
        switch message {
        case .streamStart(let start):
            _ = activity.start(start, by: start.owner ?? owner)
        case .streamStop(let ref):
            _ = activity.change(ref, by: ref.owner ?? owner, stopping: true)
        case .annotation(let annotation):
            _ = activity.annotate(annotation, by: annotation.author ?? owner, now: time)
        case .track(let track):
            _ = activity.track(track, by: track.owner ?? owner)
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
