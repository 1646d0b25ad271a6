import NIOCore

/// The fast path of the two control messages relayed most often (`chat`, `annotation`):
/// read straight from the bytes (``ControlFastReader``) and written straight into a buffer,
/// byte for byte what `JSONEncoder` writes with ``TandemJSON``'s settings. Everything else,
/// and every input the reader does not take, goes through `Codable` as before.
///
/// `ControlFastPathTests` and the fuzz target `FuzzControlMessage` hold the two paths to
/// the same answers.
extension ControlMessage {
    /// The fast reader alone: nil when `text` is not on the fast path.
    @_spi(Codec) public static func fastDecode(text: String) -> ControlMessage? {
        var text = text
        return text.withUTF8 { utf8 in
            var reader = ControlFastReader(utf8)
            return try? reader.message()
        }
    }

    /// The fast writer alone: false, with nothing written, for a message not on the fast path.
    @_spi(Codec) public func fastEncode(into buffer: inout ByteBuffer) -> Bool {
        var json = JSONBytes()
        switch self {
        case .chat(let chat):
            json.object { object in
                if let from = chat.from { object.member("from") { $0.string(from.rawValue) } }
                if let supervisor = chat.supervisor { object.member("supervisor") { $0.string(supervisor) } }
                object.member("text") { $0.string(chat.text) }
                object.member("type") { $0.string("chat") }
            }
        case .annotation(let annotation):
            // JSON has no NaN or infinity; JSONEncoder refuses them (a relayed annotation's
            // numbers are all within range).
            guard annotation.isFinite else { return false }
            json.object { object in
                if let author = annotation.author { object.member("author") { $0.string(author.rawValue) } }
                if let id = annotation.id { object.member("id") { $0.string(id) } }
                object.member("op") { $0.string(annotation.op.rawValue) }
                object.member("owner") { $0.string(annotation.owner.rawValue) }
                if let points = annotation.points { object.member("points") { $0.points(points) } }
                if let shape = annotation.shape { object.member("shape") { $0.shape(shape) } }
                object.member("streamId") { $0.integer(Int(annotation.streamID)) }
                object.member("type") { $0.string("annotation") }
            }
        case .hello, .sessionCreated, .sessionJoined, .peerJoined, .sessionEnd, .sessionEnded, .error, .streamStart, .streamStop,
            .streamPause, .streamResume, .streamControl, .overlaySnapshot, .freeze, .unfreeze, .consent, .sessionResumed, .peerAway,
            .peerBack, .queueStatus, .sessionAssigned, .sessionTransfer, .sessionTransferred, .sessionWatching, .sessionPresence, .voice, .track,
            .presenceSet, .presenceStatus, .queueOffer, .queueDecline, .queueWithdrawn, .queueCallback, .queueCallbackRecorded, .supervisorRequest,
            .floorState:
            return false
        }
        buffer.writeBytes(json.bytes)
        return true
    }
}

extension Annotation {
    fileprivate var isFinite: Bool {
        func finite(_ points: [[Double]]) -> Bool { points.allSatisfy { $0.allSatisfy(\.isFinite) } }
        guard let shape else { return finite(points ?? []) }
        // An anchor's map (§5.15) is written as `description` writes it: tiny magnitudes
        // (exponent notation) take the Codable path.
        let plainAnchor = shape.anchor.map { $0.m.allSatisfy { $0.isFinite && ($0 == 0 || abs($0) >= 1e-4) } } ?? true
        return finite(points ?? []) && finite(shape.points) && shape.width.isFinite && plainAnchor
    }
}

/// JSON text built in a plain array (one copy into the `ByteBuffer` at the end, instead of a
/// checked write into the buffer's storage per byte), as `JSONEncoder` writes it.
struct JSONBytes {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(256)
    }

    /// One object: `members` writes each member with ``Members/member(_:_:)``, in sorted
    /// order (as `JSONEncoder`'s `.sortedKeys`).
    mutating func object(_ members: (inout Members) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        var writer = Members(json: self)
        bytes = []  // the writer holds the only reference: no copy on write
        members(&writer)
        self = writer.json
        bytes.append(UInt8(ascii: "}"))
    }

    struct Members {
        fileprivate var json: JSONBytes
        private var first = true

        fileprivate init(json: JSONBytes) {
            self.json = json
        }

        mutating func member(_ key: StaticString, _ value: (inout JSONBytes) -> Void) {
            if !first { json.bytes.append(UInt8(ascii: ",")) }
            first = false
            json.bytes.append(UInt8(ascii: "\""))
            json.bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            json.bytes.append(UInt8(ascii: "\""))
            json.bytes.append(UInt8(ascii: ":"))
            value(&json)
        }
    }

    mutating func shape(_ shape: Shape) {
        object { object in
            if let anchor = shape.anchor {
                object.member("anchor") { json in
                    json.object { anchorObject in
                        anchorObject.member("epoch") { $0.integer(Int(anchor.epoch)) }
                        anchorObject.member("m") { $0.numbers(anchor.m) }
                    }
                }
            }
            if let author = shape.author { object.member("author") { $0.string(author.rawValue) } }
            object.member("color") { $0.string(shape.color) }
            object.member("id") { $0.string(shape.id) }
            object.member("kind") { $0.string(shape.kind.rawValue) }
            object.member("points") { $0.points(shape.points) }
            if let text = shape.text { object.member("text") { $0.string(text) } }
            if let ttlMs = shape.ttlMs { object.member("ttlMs") { $0.integer(ttlMs) } }
            object.member("width") { $0.double(shape.width) }
        }
    }

    mutating func points(_ points: [[Double]]) {
        bytes.append(UInt8(ascii: "["))
        for (index, point) in points.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "["))
            for (index, coordinate) in point.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                double(coordinate)
            }
            bytes.append(UInt8(ascii: "]"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// As `JSONEncoder` writes a `Double`: its shortest round-trip text, without a trailing `.0`.
    mutating func double(_ value: Double) {
        let text = value.description
        if text.hasSuffix(".0") {
            bytes.append(contentsOf: text.utf8.dropLast(2))
        } else {
            bytes.append(contentsOf: text.utf8)
        }
    }

    mutating func numbers(_ values: [Double]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            double(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func integer(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A string as `JSONEncoder` escapes it: `"`, `\`, and control characters
    /// (`\b \t \n \f \r`, others as `\u00xx`); `/` and everything else as it is.
    mutating func string(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { utf8 in
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: utf8[runStart..<index])
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    bytes.append(UInt8(ascii: "u"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(UInt8(ascii: "0"))
                    bytes.append(hex.utf8Start[Int(byte >> 4)])
                    bytes.append(hex.utf8Start[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: utf8[runStart...])
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
