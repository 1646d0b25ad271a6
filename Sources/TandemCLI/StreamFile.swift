import Foundation
import NIOCore
import TandemClient
import TandemProtocol

/// One received stream written to one file as its frames come, in a container ffmpeg and VLC
/// play: VP8, VP9 and AV1 as IVF, H.264 as a raw Annex-B byte stream (`.h264`: the access
/// units back to back, each already delimited by its start codes, §4.1), Opus as Ogg Opus
/// (`.opus`, ``OggOpusWriter``). The file is whole after every frame: the IVF header's frame
/// count and the Ogg stream's last page are rewritten as frames are added.
struct StreamFile: Sendable {
    private enum Container: Sendable {
        /// Timestamps in µs from the stream's first frame.
        case ivf(firstTimestamp: UInt64)
        case annexB
        /// `committed`: where the open (last) page starts in the file.
        case ogg(OggOpusWriter, committed: UInt64)
    }

    /// What was written, for a summary.
    struct Summary: Sendable {
        var path: String
        var codec: MediaCodec
        var frames: Int
        /// Seconds of audio (Opus), nil for video.
        var seconds: Double?
        /// The announced picture size (video), nil for audio.
        var size: (width: Int, height: Int)?
    }

    let path: String
    let codec: MediaCodec
    private let handle: FileHandle
    private var container: Container
    private(set) var frames = 0
    private let size: (width: Int, height: Int)

    /// The file name extension of a stream of `codec`, nil for the image codecs (saved one file
    /// per frame).
    static func fileExtension(_ codec: MediaCodec) -> String? {
        switch codec {
        case .vp8, .vp9, .av1: "ivf"
        case .h264: "h264"
        case .opus: "opus"
        case .jpeg, .png, .webp: nil
        }
    }

    /// Creates (replaces) `path` for a stream of `codec` with what goes before the first frame:
    /// the IVF header with the announced size, or the Ogg Opus header pages with the announced
    /// channels and sample rate. nil when `codec` is an image codec or the file cannot be created.
    init?(path: String, codec: MediaCodec, announced: StreamStart?) {
        let prologue: ByteBuffer
        let container: Container
        switch codec {
        case .vp8, .vp9, .av1:
            prologue = IVFFile.header(codec: codec, width: announced?.width ?? 0, height: announced?.height ?? 0, frameCount: 0)
            container = .ivf(firstTimestamp: 0)
        case .h264:
            prologue = ByteBuffer()
            container = .annexB
        case .opus:
            let writer = OggOpusWriter(decoderConfig: announced?.decoderConfig)
            prologue = writer.headerPages()
            container = .ogg(writer, committed: UInt64(prologue.readableBytes))
        case .jpeg, .png, .webp:
            return nil
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(prologue.readableBytesView)),
            let handle = FileHandle(forWritingAtPath: path)
        else { return nil }
        self.path = path
        self.codec = codec
        self.handle = handle
        self.container = container
        self.size = (announced?.width ?? 0, announced?.height ?? 0)
    }

    /// Appends `frame`; false when it was left out (another codec than the file's, or an Opus
    /// packet whose TOC byte makes no sense). Throws when the file cannot be written.
    mutating func append(_ frame: MediaFrame) throws -> Bool {
        guard frame.header.codec == codec else { return false }
        switch container {
        case .ivf(var first):
            if frames == 0 { first = frame.header.timestampMicros }
            let timestamp = frame.header.timestampMicros >= first ? frame.header.timestampMicros - first : 0
            let record = IVFFile.frameRecord(frame.payload, timestampMicros: timestamp)
            var count = ByteBuffer()
            count.writeInteger(UInt32(truncatingIfNeeded: frames + 1), endianness: .little)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(record.readableBytesView))
            try handle.seek(toOffset: 24)
            try handle.write(contentsOf: Data(count.readableBytesView))
            container = .ivf(firstTimestamp: first)
        case .annexB:
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(frame.payload.readableBytesView))
        case .ogg(var writer, let committed):
            guard let completed = writer.append(frame.payload) else { return false }
            let last = writer.lastPage()
            // The completed page replaces the last page written before (the same page, without
            // the end-of-stream flag); the new last page follows it.
            try handle.seek(toOffset: committed)
            try handle.write(contentsOf: Data(completed.readableBytesView))
            try handle.write(contentsOf: Data(last.readableBytesView))
            container = .ogg(writer, committed: committed + UInt64(completed.readableBytes))
        }
        frames += 1
        return true
    }

    var summary: Summary {
        switch container {
        case .ogg(let writer, _):
            Summary(path: path, codec: codec, frames: frames, seconds: writer.duration, size: nil)
        case .ivf, .annexB:
            Summary(path: path, codec: codec, frames: frames, seconds: nil, size: size)
        }
    }

    func close() {
        try? handle.close()
    }
}
