/// The members of a `chat` or `annotation` message as ``ControlFastReader`` reads them, and
/// the message they make. Every rule here follows the `Codable` conformances of ``Chat``,
/// ``Annotation`` and ``Shape``: required members are required, optional ones may be left
/// out, and anything the fast path does not take is a miss.
struct ControlFastFields {
    /// The top-level keys of the two messages (the broker sets `from` and `author` itself).
    enum Key: String, FastKey {
        case type, text, op, owner, streamId, shape, id, points
    }

    enum MessageType: String {
        case chat, annotation
    }

    private var type: MessageType?
    private var text: String?
    private var op: Annotation.Operation?
    private var owner: ParticipantRole?
    private var streamID: UInt16?
    private var shape: Shape?
    private var id: String?
    private var points: [[Double]]?

    mutating func read(_ key: Key, from reader: inout ControlFastReader) throws(ControlFastReader.Miss) {
        switch key {
        case .type: type = try reader.enumeration(MessageType.self)
        case .text: text = try reader.string()
        case .op: op = try reader.enumeration(Annotation.Operation.self)
        case .owner: owner = try reader.enumeration(ParticipantRole.self)
        case .streamId: streamID = UInt16(try reader.integer(max: Int(UInt16.max)))
        case .shape: shape = try ShapeFields.read(from: &reader)
        case .id: id = try reader.string()
        case .points: points = try reader.points()
        }
    }

    /// The message the members make, or a miss when one is missing or belongs to the other type.
    func message() throws(ControlFastReader.Miss) -> ControlMessage {
        switch type {
        case .chat:
            guard let text, op == nil, owner == nil, streamID == nil, shape == nil, id == nil, points == nil else {
                throw ControlFastReader.Miss()
            }
            return .chat(Chat(text: text))
        case .annotation:
            guard let op, let owner, let streamID, text == nil else { throw ControlFastReader.Miss() }
            return .annotation(Annotation(op: op, owner: owner, streamID: streamID, shape: shape, id: id, points: points))
        case nil:
            throw ControlFastReader.Miss()
        }
    }
}

/// The members of a ``Shape`` (`author` is the broker's to set).
private struct ShapeFields {
    enum Key: String, FastKey {
        case id, kind, color, width, points, text, ttlMs
    }

    static func read(from reader: inout ControlFastReader) throws(ControlFastReader.Miss) -> Shape {
        var id: String?
        var kind: Shape.Kind?
        var color: String?
        var width: Double?
        var points: [[Double]]?
        var text: String?
        var ttlMs: Int?
        try reader.object(Key.self) { (reader: inout ControlFastReader, key) throws(ControlFastReader.Miss) in
            switch key {
            case .id: id = try reader.string()
            case .kind: kind = try reader.enumeration(Shape.Kind.self)
            case .color: color = try reader.string()
            case .width: width = try reader.double()
            case .points: points = try reader.points()
            case .text: text = try reader.string()
            case .ttlMs: ttlMs = try reader.integer(max: Int(Int32.max))
            }
        }
        guard let id, let kind, let color, let width, let points else { throw ControlFastReader.Miss() }
        return Shape(id: id, kind: kind, color: color, width: width, points: points, text: text, ttlMs: ttlMs)
    }
}
