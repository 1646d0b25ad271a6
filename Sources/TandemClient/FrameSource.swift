import NIOCore
import TandemProtocol

import Foundation

/// Where a client's outgoing frames come from: image files in a folder, played in a loop,
/// or a generated test pattern.
public struct FrameSource: Sendable {
    public struct Error: Swift.Error, CustomStringConvertible {
        public let description: String
    }

    private enum Kind: Sendable {
        case images([(codec: MediaCodec, bytes: ByteBuffer)])
        case pattern(TestPatternPNG)
    }

    private let kind: Kind

    /// `pattern` (optionally `pattern:WIDTHxHEIGHT`) or a folder of `.jpg`, `.jpeg`, `.png`, `.webp` files.
    public init(_ specification: String) throws {
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

    /// Frame number `index` of stream `streamID`. Every image frame is a keyframe.
    public func frame(_ index: Int, streamID: UInt16 = 1) -> MediaFrame {
        let (codec, payload): (MediaCodec, ByteBuffer) =
            switch kind {
            case .images(let images): images[index % images.count]
            case .pattern(let pattern): (.png, ByteBuffer(bytes: pattern.frame(index)))
            }
        return MediaFrame(
            streamID: streamID,
            sequence: UInt32(truncatingIfNeeded: index),
            codec: codec,
            keyframe: true,
            timestampMicros: UInt64(Date().timeIntervalSince1970 * 1_000_000),
            payload: payload
        )
    }
}
