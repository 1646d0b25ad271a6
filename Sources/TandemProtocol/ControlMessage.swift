import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A JSON control message, carried in a WebSocket text message.
///
/// Every message is one JSON object whose `type` member selects the case.
/// See [protocol/README.md § Control messages](../../protocol/README.md#5-control-messages).
public enum ControlMessage: Sendable, Equatable {
    /// [§5.1](../../protocol/README.md#51-hello) client → broker, first message on every connection.
    case hello(Hello)
    /// [§5.2](../../protocol/README.md#52-sessioncreated) broker → agent.
    case sessionCreated(SessionCreated)
    /// [§5.3](../../protocol/README.md#53-sessionjoined) broker → customer.
    case sessionJoined(SessionJoined)
    /// [§5.4](../../protocol/README.md#54-peerjoined) broker → agent.
    case peerJoined(PeerJoined)
    /// [§5.5](../../protocol/README.md#55-chat) both ways, relayed.
    case chat(Chat)
    /// [§5.6](../../protocol/README.md#56-sessionend) participant → broker.
    case sessionEnd(SessionEnd)
    /// [§5.7](../../protocol/README.md#57-sessionended) broker → participants.
    case sessionEnded(SessionEnded)
    /// [§5.8](../../protocol/README.md#58-error) broker → participant, non-fatal.
    case error(ErrorMessage)
    /// [§5.9](../../protocol/README.md#59-streams) publisher → peer.
    case streamStart(StreamStart)
    /// [§5.9](../../protocol/README.md#59-streams) publisher → peer.
    case streamStop(StreamRef)
    /// [§5.9](../../protocol/README.md#59-streams) publisher → peer.
    case streamPause(StreamRef)
    /// [§5.9](../../protocol/README.md#59-streams) publisher → peer.
    case streamResume(StreamRef)
    /// [§5.9](../../protocol/README.md#59-streams) receiver (or broker) → publisher.
    case streamControl(StreamControl)
    /// [§5.10](../../protocol/README.md#510-annotations) both ways, relayed and kept.
    case annotation(Annotation)
    /// [§5.10](../../protocol/README.md#510-annotations) broker → participant.
    case overlaySnapshot(OverlaySnapshot)
    /// [§5.11](../../protocol/README.md#511-freeze-frame) both ways.
    case freeze(Freeze)
    /// [§5.11](../../protocol/README.md#511-freeze-frame) both ways.
    case unfreeze(Freeze)
    /// [§5.12](../../protocol/README.md#512-consent) customer → broker → agent.
    case consent(Consent)
    /// [§5.13](../../protocol/README.md#513-reconnecting) broker → resumed participant.
    case sessionResumed(SessionResumed)
    /// [§5.13](../../protocol/README.md#513-reconnecting) broker → participant.
    case peerAway(PeerPresence)
    /// [§5.13](../../protocol/README.md#513-reconnecting) broker → participant.
    case peerBack(PeerPresence)
    /// [§16](../../protocol/README.md#16-queue) broker → customer waiting in a queue.
    case queueStatus(QueueStatus)
    /// [§16](../../protocol/README.md#16-queue) broker → agent that took a session from a queue.
    case sessionAssigned(SessionAssigned)
    /// [§17](../../protocol/README.md#17-transfer-and-escalation) agent → broker.
    case sessionTransfer(TransferRequest)
    /// [§17](../../protocol/README.md#17-transfer-and-escalation) broker → participants.
    case sessionTransferred(SessionTransferred)
    /// [§18](../../protocol/README.md#18-supervisors) broker → supervisor.
    case sessionWatching(SessionWatching)
    /// [§18](../../protocol/README.md#18-supervisors) broker → everyone in the session.
    case sessionPresence(SessionPresence)
    /// [§5.14](../../protocol/README.md#514-voice) agent → broker → customer.
    case voice(Voice)
    /// `track` (§5.15).
    case track(Track)
    /// [§20.1](../../protocol/README.md#201-presence) agent → broker on its presence connection.
    case presenceSet(Presence)
    /// [§20.1](../../protocol/README.md#201-presence) broker → agent on its presence connection.
    case presenceStatus(PresenceStatus)
    /// [§20.2](../../protocol/README.md#202-offers) broker → agent on its presence connection.
    case queueOffer(QueueOffer)
    /// [§20.2](../../protocol/README.md#202-offers) agent → broker.
    case queueDecline(OfferReference)
    /// [§20.2](../../protocol/README.md#202-offers) broker → agent.
    case queueWithdrawn(QueueWithdrawn)
    /// [§20.4](../../protocol/README.md#204-the-wait-the-customer-is-told-and-callbacks) customer waiting → broker.
    case queueCallback(QueueCallback)
    /// [§20.4](../../protocol/README.md#204-the-wait-the-customer-is-told-and-callbacks) broker → customer.
    case queueCallbackRecorded(QueueCallbackRecorded)
    /// [§20.5](../../protocol/README.md#205-transfer-reasons-and-asking-a-supervisor) agent → broker.
    case supervisorRequest(SupervisorRequest)
    /// [§20.6](../../protocol/README.md#206-the-floor) broker → admin on a floor connection.
    case floorState(FloorState)

    /// The value of the `type` member.
    public var type: String {
        switch self {
        case .hello: "hello"
        case .sessionCreated: "session.created"
        case .sessionJoined: "session.joined"
        case .peerJoined: "peer.joined"
        case .chat: "chat"
        case .sessionEnd: "session.end"
        case .sessionEnded: "session.ended"
        case .error: "error"
        case .streamStart: "stream.start"
        case .streamStop: "stream.stop"
        case .streamPause: "stream.pause"
        case .streamResume: "stream.resume"
        case .streamControl: "stream.control"
        case .annotation: "annotation"
        case .overlaySnapshot: "overlay.snapshot"
        case .freeze: "freeze"
        case .unfreeze: "unfreeze"
        case .consent: "consent"
        case .sessionResumed: "session.resumed"
        case .peerAway: "peer.away"
        case .peerBack: "peer.back"
        case .queueStatus: "queue.status"
        case .sessionAssigned: "session.assigned"
        case .sessionTransfer: "session.transfer"
        case .sessionTransferred: "session.transferred"
        case .sessionWatching: "session.watching"
        case .sessionPresence: "session.presence"
        case .voice: "voice"
        case .track: "track"
        case .presenceSet: "presence.set"
        case .presenceStatus: "presence.status"
        case .queueOffer: "queue.offer"
        case .queueDecline: "queue.decline"
        case .queueWithdrawn: "queue.withdrawn"
        case .queueCallback: "queue.callback"
        case .queueCallbackRecorded: "queue.callback-recorded"
        case .supervisorRequest: "supervisor.request"
        case .floorState: "floor.state"
        }
    }

    /// Decodes one control message from all readable bytes of `buffer` (one WebSocket text message).
    public static func decode(from buffer: inout ByteBuffer) throws(ProtocolError) -> ControlMessage {
        // Bytes may not be UTF-8: `JSONDecoder` checks them (the fast path takes a `String`).
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        return try decode(bytes: bytes)
    }

    /// Decodes one control message from the UTF-8 text of a WebSocket text message: `chat`
    /// and `annotation` in their plain form straight from the bytes
    /// (``fastDecode(text:)``), everything else with `JSONDecoder`.
    public static func decode(text: String) throws(ProtocolError) -> ControlMessage {
        if let message = fastDecode(text: text) { return message }
        return try codableDecode(text: text)
    }

    /// The `Codable` path alone (`JSONDecoder`).
    @_spi(Codec) public static func codableDecode(text: String) throws(ProtocolError) -> ControlMessage {
        do {
            return try ControlMessage.decoder.decode(ControlMessage.self, from: Data(text.utf8))
        } catch {
            // The error path: classify it the one way (decode(bytes:)).
            return try decode(bytes: Array(text.utf8))
        }
    }

    static func decode(bytes: [UInt8]) throws(ProtocolError) -> ControlMessage {
        do {
            return try ControlMessage.decoder.decode(ControlMessage.self, from: Data(bytes))
        } catch let error as ProtocolError {
            throw error
        } catch let DecodingError.keyNotFound(key, context) {
            throw .invalidField((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw Self.fieldError(context)
        } catch let DecodingError.dataCorrupted(context) {
            guard context.codingPath.isEmpty else { throw Self.fieldError(context) }
            // Some value errors (a number out of range) carry no path: if the text is a JSON
            // object with a type, the fault is in one of its fields.
            struct TypeOnly: Decodable { var type: String }
            let isObject = (try? ControlMessage.decoder.decode(TypeOnly.self, from: Data(bytes))) != nil
            throw isObject ? .invalidField("value") : .malformedControlMessage
        } catch {
            throw .malformedControlMessage
        }
    }

    private static func fieldError(_ context: DecodingError.Context) -> ProtocolError {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? .malformedControlMessage : .invalidField(path)
    }

    /// Appends the canonical JSON encoding (sorted keys, RFC 3339 dates) to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        guard !fastEncode(into: &buffer) else { return }
        buffer.writeBytes(codableEncoded)
    }

    /// The canonical JSON text of this message.
    public var jsonText: String {
        String(buffer: jsonBuffer)
    }

    /// The canonical JSON encoding in a buffer: encode once, send the same buffer to every recipient.
    public var jsonBuffer: ByteBuffer {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return buffer
    }

    /// `JSONEncoder`'s bytes alone.
    @_spi(Codec) public var codableEncoded: [UInt8] {
        // Every payload is plain strings, numbers and dates: encoding cannot fail.
        Array(try! ControlMessage.encoder.encode(self))
    }

    static let encoder = TandemJSON.makeEncoder()
    static let decoder = TandemJSON.makeDecoder()
}

extension ControlMessage: Codable {
    private enum TypeKey: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: TypeKey.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "hello": self = .hello(try Hello(from: decoder))
        case "session.created": self = .sessionCreated(try SessionCreated(from: decoder))
        case "session.joined": self = .sessionJoined(try SessionJoined(from: decoder))
        case "peer.joined": self = .peerJoined(try PeerJoined(from: decoder))
        case "chat": self = .chat(try Chat(from: decoder))
        case "session.end": self = .sessionEnd(try SessionEnd(from: decoder))
        case "session.ended": self = .sessionEnded(try SessionEnded(from: decoder))
        case "error": self = .error(try ErrorMessage(from: decoder))
        case "stream.start": self = .streamStart(try StreamStart(from: decoder))
        case "stream.stop": self = .streamStop(try StreamRef(from: decoder))
        case "stream.pause": self = .streamPause(try StreamRef(from: decoder))
        case "stream.resume": self = .streamResume(try StreamRef(from: decoder))
        case "stream.control": self = .streamControl(try StreamControl(from: decoder))
        case "annotation": self = .annotation(try Annotation(from: decoder))
        case "overlay.snapshot": self = .overlaySnapshot(try OverlaySnapshot(from: decoder))
        case "freeze": self = .freeze(try Freeze(from: decoder))
        case "unfreeze": self = .unfreeze(try Freeze(from: decoder))
        case "consent": self = .consent(try Consent(from: decoder))
        case "session.resumed": self = .sessionResumed(try SessionResumed(from: decoder))
        case "peer.away": self = .peerAway(try PeerPresence(from: decoder))
        case "peer.back": self = .peerBack(try PeerPresence(from: decoder))
        case "queue.status": self = .queueStatus(try QueueStatus(from: decoder))
        case "session.assigned": self = .sessionAssigned(try SessionAssigned(from: decoder))
        case "session.transfer": self = .sessionTransfer(try TransferRequest(from: decoder))
        case "session.transferred": self = .sessionTransferred(try SessionTransferred(from: decoder))
        case "session.watching": self = .sessionWatching(try SessionWatching(from: decoder))
        case "session.presence": self = .sessionPresence(try SessionPresence(from: decoder))
        case "voice": self = .voice(try Voice(from: decoder))
        case "track": self = .track(try Track(from: decoder))
        case "presence.set": self = .presenceSet(try Presence(from: decoder))
        case "presence.status": self = .presenceStatus(try PresenceStatus(from: decoder))
        case "queue.offer": self = .queueOffer(try QueueOffer(from: decoder))
        case "queue.decline": self = .queueDecline(try OfferReference(from: decoder))
        case "queue.withdrawn": self = .queueWithdrawn(try QueueWithdrawn(from: decoder))
        case "queue.callback": self = .queueCallback(try QueueCallback(from: decoder))
        case "queue.callback-recorded": self = .queueCallbackRecorded(try QueueCallbackRecorded(from: decoder))
        case "supervisor.request": self = .supervisorRequest(try SupervisorRequest(from: decoder))
        case "floor.state": self = .floorState(try FloorState(from: decoder))
        default: throw ProtocolError.unknownMessageType(type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: TypeKey.self)
        try container.encode(type, forKey: .type)
        switch self {
        case .hello(let payload): try payload.encode(to: encoder)
        case .sessionCreated(let payload): try payload.encode(to: encoder)
        case .sessionJoined(let payload): try payload.encode(to: encoder)
        case .peerJoined(let payload): try payload.encode(to: encoder)
        case .chat(let payload): try payload.encode(to: encoder)
        case .sessionEnd(let payload): try payload.encode(to: encoder)
        case .sessionEnded(let payload): try payload.encode(to: encoder)
        case .error(let payload): try payload.encode(to: encoder)
        case .streamStart(let payload): try payload.encode(to: encoder)
        case .streamStop(let payload), .streamPause(let payload), .streamResume(let payload): try payload.encode(to: encoder)
        case .streamControl(let payload): try payload.encode(to: encoder)
        case .annotation(let payload): try payload.encode(to: encoder)
        case .overlaySnapshot(let payload): try payload.encode(to: encoder)
        case .freeze(let payload), .unfreeze(let payload): try payload.encode(to: encoder)
        case .consent(let payload): try payload.encode(to: encoder)
        case .sessionResumed(let payload): try payload.encode(to: encoder)
        case .peerAway(let payload), .peerBack(let payload): try payload.encode(to: encoder)
        case .queueStatus(let payload): try payload.encode(to: encoder)
        case .sessionAssigned(let payload): try payload.encode(to: encoder)
        case .sessionTransfer(let payload): try payload.encode(to: encoder)
        case .sessionTransferred(let payload): try payload.encode(to: encoder)
        case .sessionWatching(let payload): try payload.encode(to: encoder)
        case .sessionPresence(let payload): try payload.encode(to: encoder)
        case .voice(let payload): try payload.encode(to: encoder)
        case .track(let payload): try payload.encode(to: encoder)
        case .presenceSet(let payload): try payload.encode(to: encoder)
        case .presenceStatus(let payload): try payload.encode(to: encoder)
        case .queueOffer(let payload): try payload.encode(to: encoder)
        case .queueDecline(let payload): try payload.encode(to: encoder)
        case .queueWithdrawn(let payload): try payload.encode(to: encoder)
        case .queueCallback(let payload): try payload.encode(to: encoder)
        case .queueCallbackRecorded(let payload): try payload.encode(to: encoder)
        case .supervisorRequest(let payload): try payload.encode(to: encoder)
        case .floorState(let payload): try payload.encode(to: encoder)
        }
    }
}
