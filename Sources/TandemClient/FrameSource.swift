import Foundation
import NIOCore
import TandemProtocol

/// Where a client's outgoing frames come from: image files in a folder or a VP8/VP9/AV1
/// IVF file, played in a loop, or a generated test pattern.
public struct FrameSource: Sendable {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    private enum Kind: Sendable {
        case images([(codec: MediaCodec, bytes: ByteBuffer)])
        case pattern(TestPatternPNG)
        case video(IVFFile)
    }

    private let kind: Kind

    /// `pattern` (optionally `pattern:WIDTHxHEIGHT`), an `.ivf` file, or a folder of `.jpg`,
    /// `.jpeg`, `.png`, `.webp` files.
    public init(_ specification: String) throws {
        if specification.lowercased().hasSuffix(".ivf") {
            do {
                self.kind = .video(try IVFFile(contentsOf: specification))
            } catch {
                throw Error(description: "--source \(specification): \(error)")
            }
            return
        }
        if specification == "pattern" || specification.hasPrefix("pattern:") {
            let size = specification.dropFirst("pattern".count).drop(while: { $0 == ":" })
            let parts = size.split(separator: "x").compactMap { Int($0) }
            self.kind = .pattern(parts.count == 2 ? TestPatternPNG(width: parts[0], height: parts[1]) : TestPatternPNG())
            return
        }
        let fileManager = FileManager.default
        guard let names = try? fileManager.contentsOfDirectory(atPath: specification) else {
            throw Error(description: "--source must be 'pattern' or a folder of images; cannot read \(specification)")
        }
        var images: [(codec: MediaCodec, bytes: ByteBuffer)] = []
        for name in names.sorted() {
            let codec: MediaCodec
            switch (name as NSString).pathExtension.lowercased() {
            case "jpg", "jpeg": codec = .jpeg
            case "png": codec = .png
            case "webp": codec = .webp
            default: continue
            }
            guard let data = fileManager.contents(atPath: specification + "/" + name) else { continue }
            images.append((codec, ByteBuffer(bytes: data)))
        }
        guard !images.isEmpty else { throw Error(description: "no .jpg, .png or .webp files in \(specification)") }
        self.kind = .images(images)
    }

    /// Codec and size of the frames, for `stream.start` (image sizes are read from the first file).
    public var format: (codec: MediaCodec, width: Int, height: Int) {
        switch kind {
        case .pattern(let pattern):
            return (.png, pattern.width, pattern.height)
        case .images(let images):
            let first = images[0]
            let size = Self.imageSize(Array(first.bytes.readableBytesView)) ?? (1, 1)
            return (first.codec, size.0, size.1)
        case .video(let file):
            return (file.codec, file.width, file.height)
        }
    }

    /// The `stream.start` announcing these frames as stream 1 of `source`: a video file at its
    /// own rate, images and the pattern at `fps`, either way within the protocol's range
    /// (above 0, at most 240). Send its frames `1 / fps` seconds apart.
    public func streamStart(source: StreamSource, fps: Double) -> StreamStart {
        let format = self.format
        return StreamStart(
            streamID: 1,
            source: source,
            codec: format.codec,
            width: format.width,
            height: format.height,
            fps: min(max(framesPerSecond ?? fps, 0.1), 240),
            decoderConfig: decoderConfig
        )
    }

    /// A video file's own frame rate; nil for images and the pattern (sent at `--fps`).
    public var framesPerSecond: Double? {
        guard case .video(let file) = kind else { return nil }
        return file.framesPerSecond
    }

    /// What the receiver's WebCodecs decoder needs (`stream.start`'s `decoderConfig`), for video.
    public var decoderConfig: DecoderConfig? {
        guard case .video(let file) = kind else { return nil }
        switch file.codec {
        case .vp8: return DecoderConfig(codec: "vp8")
        case .vp9: return DecoderConfig(codec: "vp09.00.10.08")
        case .av1: return DecoderConfig(codec: "av01.0.04M.08")
        case .jpeg, .png, .webp, .h264, .opus: return nil
        }
    }

    /// Width and height from a PNG header or a JPEG start-of-frame marker.
    static func imageSize(_ bytes: [UInt8]) -> (Int, Int)? {
        func be16(_ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
        if bytes.count >= 24, bytes[0] == 0x89, bytes[1] == 0x50 {
            return (be16(16) << 16 | be16(18), be16(20) << 16 | be16(22))
        }
        guard bytes.count > 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var index = 2
        while index + 9 < bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            let marker = bytes[index + 1]
            if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                return (be16(index + 7), be16(index + 5))
            }
            index += 2 + be16(index + 2)
        }
        return nil
    }

    /// Frame number `index` of stream `streamID`. Every image frame is a keyframe; a video
    /// file's frames are flagged as their bitstream says (``VideoKeyframe``).
    public func frame(_ index: Int, streamID: UInt16 = 1) -> MediaFrame {
        let (codec, payload, keyframe): (MediaCodec, ByteBuffer, Bool) =
            switch kind {
            case .images(let images): (images[index % images.count].codec, images[index % images.count].bytes, true)
            case .pattern(let pattern): (.png, ByteBuffer(bytes: pattern.frame(index)), true)
            case .video(let file):
                (file.codec, file.frames[index % file.frames.count].payload, file.frames[index % file.frames.count].keyframe)
            }
        return MediaFrame(
            streamID: streamID,
            sequence: UInt32(truncatingIfNeeded: index),
            codec: codec,
            keyframe: keyframe,
            timestampMicros: UInt64(Date().timeIntervalSince1970 * 1_000_000),
            payload: payload
        )
    }
}
