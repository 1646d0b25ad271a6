#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a stream shows. See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public enum StreamSource: String, Sendable, Codable, CaseIterable {
    case screen
    case camera
    /// Audio: the only source of `opus` streams.
    case microphone
}

/// Publisher → broker → peer: a stream begins. Sent before its first frame.
///
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct StreamStart: Sendable, Equatable, Codable {
    public var streamID: UInt16
    public var source: StreamSource
    public var codec: MediaCodec
    public var width: Int
    public var height: Int
    /// Nominal frames per second (audio: packets per second).
    public var fps: Double
    /// What the receiver needs to configure its WebCodecs decoder.
    public var decoderConfig: DecoderConfig?
    /// Set by the broker: who publishes the stream.
    public var owner: ParticipantRole?

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId"
        case source, codec, width, height, fps, decoderConfig, owner
    }

    public init(
        streamID: UInt16,
        source: StreamSource,
        codec: MediaCodec,
        width: Int,
        height: Int,
        fps: Double,
        decoderConfig: DecoderConfig? = nil,
        owner: ParticipantRole? = nil
    ) {
        self.streamID = streamID
        self.source = source
        self.codec = codec
        self.width = width
        self.height = height
        self.fps = fps
        self.decoderConfig = decoderConfig
        self.owner = owner
    }

    /// The member that breaks §5.9's rules beyond the JSON types (sizes, rates, which source
    /// goes with which codec, the decoder configuration's limits), or nil.
    public var invalidField: String? {
        if codec.isAudio != (source == .microphone) { return codec.isAudio ? "source" : "codec" }
        if codec.isAudio {
            if width != 0 { return "width" }
            if height != 0 { return "height" }
        } else {
            if !(1...16_384).contains(width) { return "width" }
            if !(1...16_384).contains(height) { return "height" }
        }
        if !(fps > 0 && fps <= 240) { return "fps" }
        return decoderConfig?.invalidField.map { "decoderConfig." + $0 }
    }
}

/// `stream.start`'s `decoderConfig`: what a WebCodecs `VideoDecoder` or `AudioDecoder` needs.
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct DecoderConfig: Sendable, Equatable, Codable {
    /// The WebCodecs codec string, e.g. `vp09.00.10.08`.
    public var codec: String
    /// The decoder's description in base64 (e.g. an H.264 `avcC`).
    public var description: String?
    public var sampleRate: Int?
    public var numberOfChannels: Int?

    public init(codec: String, description: String? = nil, sampleRate: Int? = nil, numberOfChannels: Int? = nil) {
        self.codec = codec
        self.description = description
        self.sampleRate = sampleRate
        self.numberOfChannels = numberOfChannels
    }

    /// The member out of its limits, or nil.
    public var invalidField: String? {
        if codec.isEmpty || codec.unicodeScalars.count > 64 { return "codec" }
        if let description, description.utf8.count > 4096 || Data(base64Encoded: description) == nil { return "description" }
        if let sampleRate, !(8000...48_000).contains(sampleRate) { return "sampleRate" }
        if let numberOfChannels, !(1...2).contains(numberOfChannels) { return "numberOfChannels" }
        return nil
    }
}

/// Publisher → broker → peer: `stream.stop`, `stream.pause`, `stream.resume` of one of its streams.
///
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct StreamRef: Sendable, Equatable, Codable {
    public var streamID: UInt16
    /// Set by the broker: who publishes the stream.
    public var owner: ParticipantRole?

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId"
        case owner
    }

    public init(streamID: UInt16, owner: ParticipantRole? = nil) {
        self.streamID = streamID
        self.owner = owner
    }
}

/// Receiver → broker → publisher: a request about one of the publisher's streams.
/// The broker itself sends `keyframe` requests after it dropped frames for a slow receiver.
///
/// See [protocol/README.md § Streams](../../protocol/README.md#59-streams).
public struct StreamControl: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable, CaseIterable {
        /// Stop sending frames of this stream until `resume`.
        case pause
        case resume
        /// Send a keyframe as soon as possible.
        case keyframe
        /// Send at most `fps` frames per second and/or at `quality` (0–1) and/or at most
        /// `bitrate` bits per second.
        case quality
    }

    /// Who asked: the receiving participant, or the broker after dropping frames.
    public enum Origin: String, Sendable, Codable {
        case agent
        case customer
        case broker
    }

    public var streamID: UInt16
    public var action: Action
    public var fps: Double?
    public var quality: Double?
    /// A video bit-rate ceiling in bits per second (§5.9): what a receiver measured reaches it.
    public var bitrate: Int?
    /// Set by the broker.
    public var origin: Origin?

    /// The range of `bitrate`: 10 kbit/s to 100 Mbit/s.
    public static let bitrateRange = 10_000...100_000_000

    enum CodingKeys: String, CodingKey {
        case streamID = "streamId"
        case action, fps, quality, bitrate, origin
    }

    public init(streamID: UInt16, action: Action, fps: Double? = nil, quality: Double? = nil, bitrate: Int? = nil, origin: Origin? = nil) {
        self.streamID = streamID
        self.action = action
        self.fps = fps
        self.quality = quality
        self.bitrate = bitrate
        self.origin = origin
    }
}
