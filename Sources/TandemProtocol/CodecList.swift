/// The codecs a client decodes (protocol/README.md §5.1, §5.9): in `hello`, and passed on to
/// the other side in `session.joined`, `peer.joined`, `session.resumed`, `session.assigned`
/// and `session.transferred`, so a publisher sends only what its receiver can show.
///
/// On the wire a JSON array of codec names (§4.1), at most ``maxCount`` entries of at most
/// ``maxNameLength`` characters each. Names this side does not know are skipped, not refused:
/// a newer client may decode codecs this broker has never heard of. A peer that sent no list
/// is an old client that decodes the image codecs only (``imagesOnly``).
public struct CodecList: Sendable, Equatable, Hashable {
    public static let maxCount = 16
    public static let maxNameLength = 16
    /// What a client that states no list decodes: JPEG, PNG and WebP.
    public static let imagesOnly = CodecList([.jpeg, .png, .webp])

    /// Known codecs, in the order the client listed them, without repeats.
    public private(set) var codecs: [MediaCodec]

    public init(_ codecs: [MediaCodec]) {
        var seen = Set<MediaCodec>()
        self.codecs = codecs.filter { seen.insert($0).inserted }
    }

    public func contains(_ codec: MediaCodec) -> Bool {
        codecs.contains(codec)
    }
}

extension CodecList: Codable {
    public init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        if let count = container.count, count > Self.maxCount {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "at most \(Self.maxCount) codecs")
        }
        var known: [MediaCodec] = []
        while !container.isAtEnd {
            let name = try container.decode(String.self)
            guard !name.isEmpty, name.count <= Self.maxNameLength else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a codec name has 1 to \(Self.maxNameLength) characters")
            }
            if let codec = try? MediaCodec(name: name) { known.append(codec) }
        }
        self.init(known)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for codec in codecs { try container.encode(codec.name) }
    }
}
