import NIOCore
import Testing

@_spi(Codec) @testable import TandemProtocol

/// The fast path of `chat` and `annotation` against the `Codable` path: whatever the fast reader
/// takes, `JSONDecoder` takes with an equal value; whatever the fast writer writes, `JSONEncoder`
/// writes byte for byte; and the public `decode(text:)` answers as the `Codable` path does.
@Suite("Control message fast path against the Codable path")
struct ControlFastPathTests {
    @Test("control vectors: the fast reader agrees with Codable, the fast writer with JSONEncoder")
    func vectors() throws {
        let vectors = try Vectors.control()
        var fastReads = 0
        var fastWrites = 0
        for vector in vectors.valid + vectors.invalid {
            let codable = codableResult(vector.json)
            #expect(publicResult(vector.json) == codable, "\(vector.name)")
            let fast = ControlMessage.fastDecode(text: vector.json)
            if let fast {
                fastReads += 1
                #expect(codable == .success(fast), "\(vector.name)")
            }
            guard case .success(let message) = codable else { continue }
            // A plain chat or annotation (no broker-set member) must be on the fast path.
            let brokerSet = ["\"from\"", "\"supervisor\"", "\"author\""].contains { vector.json.contains($0) }
            if isFastType(message), !brokerSet { #expect(fast != nil, "\(vector.name) missed the fast path") }
            guard let bytes = fastBytes(message) else {
                #expect(!isFastType(message), "\(vector.name): the fast writer declined a \(message.type)")
                continue
            }
            fastWrites += 1
            #expect(bytes == message.codableEncoded, "\(vector.name)")
            #expect(bytes == Array(vector.json.utf8), "\(vector.name)")
        }
        #expect(fastReads >= 8)  // chat #5, annotation #22, #24-#29
        #expect(fastWrites >= 11)  // every chat and annotation vector
    }

    @Test("ordinary chat and annotation messages take the fast path")
    func hits() {
        let hello = ControlMessage.chat(Chat(text: "hello"))
        expectHit(#"{"type":"chat","text":"hello"}"#, hello)
        expectHit(#"{"text":"hello","type":"chat"}"#, hello)
        expectHit(#"{ "type" : "chat" , "text" : "hello" }"#, hello)
        expectHit(" \t\r\n{\n\t\"text\":\t\"hello\"\r\n,\"type\"  :\"chat\"}\r\n ", hello)
        expectHit(#"{"type":"chat","text":""}"#, .chat(Chat(text: "")))
        let wide = "Grüße ✓ 😀 a/b <\u{7F}\u{2028}>"
        expectHit(#"{"type":"chat","text":"\#(wide)"}"#, .chat(Chat(text: wide)))

        let kinds: [(Shape.Kind, String, [[Double]])] = [
            (.stroke, "[[0,1],[0.5,0.25],[1,0.125]]", [[0, 1], [0.5, 0.25], [1, 0.125]]),
            (.arrow, "[[0.25,0.5],[0.625,0.375]]", [[0.25, 0.5], [0.625, 0.375]]),
            (.rect, "[ [0.1, 0.2] , [0.3, 0.4] ]", [[0.1, 0.2], [0.3, 0.4]]),
            (.ellipse, "[[0.5,0.5],[0.75,0.625]]", [[0.5, 0.5], [0.75, 0.625]]),
            (.text, "[[0.5,0.5]]", [[0.5, 0.5]]),
            (.pointer, "[[0.3333333333333333,1.0]]", [[1.0 / 3, 1]]),
        ]
        #expect(kinds.map { $0.0 } == Shape.Kind.allCases)
        for (kind, json, points) in kinds {
            let isText = kind == .text
            let extra = isText ? #","text":"WAN port","ttlMs":30000"# : ""
            let text =
                ##"{"type":"annotation","op":"add","owner":"agent","streamId":7,"shape":{"id":"k1","kind":"\##(kind.rawValue)","color":"#00ff00","width":2.5,"points":\##(json)\##(extra)}}"##
            let shape = Shape(
                id: "k1",
                kind: kind,
                color: "#00ff00",
                width: 2.5,
                points: points,
                text: isText ? "WAN port" : nil,
                ttlMs: isText ? 30000 : nil
            )
            expectHit(text, .annotation(.add(shape, owner: .agent, streamID: 7)))
        }
        let reversed = Shape(id: "z", kind: .text, color: "#ABCDEF", width: 4, points: [[0, 0]], text: "x", ttlMs: 1)
        expectHit(
            ##"{"shape":{"ttlMs":1,"text":"x","points":[[0,0]],"width":4,"color":"#ABCDEF","kind":"text","id":"z"},"streamId":0,"owner":"customer","op":"add","type":"annotation"}"##,
            .annotation(.add(reversed, owner: .customer, streamID: 0))
        )
        expectHit(
            #"{"id":"s7","op":"append","owner":"customer","points":[[0.125,0.15],[0.2,0.25]],"streamId":1,"type":"annotation"}"#,
            .annotation(Annotation(op: .append, owner: .customer, streamID: 1, id: "s7", points: [[0.125, 0.15], [0.2, 0.25]]))
        )
        expectHit(
            #"{"type":"annotation","op":"remove","owner":"agent","streamId":65535,"id":"t1"}"#,
            .annotation(Annotation(op: .remove, owner: .agent, streamID: 65535, id: "t1"))
        )
        expectHit(
            #"{"type":"annotation","op":"undo","owner":"customer","streamId":0}"#,
            .annotation(Annotation(op: .undo, owner: .customer, streamID: 0))
        )
        expectHit(
            #"{"streamId":3,"owner":"agent","op":"clear","type":"annotation"}"#,
            .annotation(Annotation(op: .clear, owner: .agent, streamID: 3))
        )
    }

    @Test("unusual input misses the fast path, and decode(text:) answers as the Codable path")
    func misses() {
        let shapeWith = { (width: String, points: String) in
            ##"{"id":"a","kind":"pointer","color":"#000000","width":\##(width),"points":\##(points)}"##
        }
        let shape = shapeWith("1", "[[0,0]]")
        let add = { (shape: String) in ##"{"type":"annotation","op":"add","owner":"agent","streamId":1,"shape":\##(shape)}"## }
        let undoAt = { (streamID: String) in #"{"type":"annotation","op":"undo","owner":"agent","streamId":\#(streamID)"# }
        let undo = undoAt("1")
        // Inputs the Codable path accepts: the fast path declines them and the fallback reads them.
        let pointer = Shape(id: "a", kind: .pointer, color: "#000000", width: 1, points: [[0, 0]])
        var authored = pointer
        authored.author = .agent
        let accepted: [(String, ControlMessage)] = [
            (#"{"type":"chat","text":"a\"b"}"#, .chat(Chat(text: "a\"b"))),
            (#"{"type":"chat","text":"\u0041"}"#, .chat(Chat(text: "A"))),
            (#"{"t\u0079pe":"chat","text":"hi"}"#, .chat(Chat(text: "hi"))),
            (#"{"type":"chat","text":"hi","from":"agent"}"#, .chat(Chat(text: "hi", from: .agent))),
            (#"{"type":"chat","text":"hi","supervisor":"carol"}"#, .chat(Chat(text: "hi", supervisor: "carol"))),
            (#"{"type":"chat","text":"hi","x":1}"#, .chat(Chat(text: "hi"))),
            (#"{"type":"chat","text":"hi","op":"add"}"#, .chat(Chat(text: "hi"))),
            (undo + #","author":"customer"}"#, .annotation(Annotation(op: .undo, owner: .agent, streamID: 1, author: .customer))),
            (undo + #","shape":null}"#, .annotation(Annotation(op: .undo, owner: .agent, streamID: 1))),
            (undo + #","id":null}"#, .annotation(Annotation(op: .undo, owner: .agent, streamID: 1))),
            (add(String(shape.dropLast()) + #","author":"agent"}"#), .annotation(.add(authored, owner: .agent, streamID: 1))),
            (add(String(shape.dropLast()) + #","dash":true}"#), .annotation(.add(pointer, owner: .agent, streamID: 1))),
        ]
        for (text, expected) in accepted {
            expectMiss(text)
            #expect(codableResult(text) == .success(expected), "\(text)")
        }
        // Anything else: whatever the Codable path answers, value or error.
        let others: [String] = [
            #"{"type":"chat","text":null}"#, "{\"type\":\"chat\",\"text\":\"a\tb\"}",
            #"{"type":"chat","text":"a","text":"b"}"#, #"{"type":"chat","type":"chat","text":"a"}"#,
            undo + #","streamId":2}"#, add(##"{"id":"a","id":"b","kind":"pointer","color":"#000000","width":1,"points":[[0,0]]}"##),
            undoAt("1e2") + "}", undoAt("01") + "}", undoAt("1.0") + "}", undoAt("70000") + "}", undoAt("-1") + "}",
            add(shapeWith("1e0", "[[0,0]]")), add(shapeWith("01.5", "[[0,0]]")), add(shapeWith("1", "[[0,0.]]")),
            add(shapeWith("1", "[[1" + String(repeating: "0", count: 400) + ",0]]")), add(shapeWith("1", "[[0,1E-2]]")),
            #"{"type":"chat","text":"hi"} x"#, #"{"type":"chat","text":"hi"}{}"#, #"{"type":"chat","text":"hi"},"#,
            "", " ", "[]", "[1,2]", "\"chat\"", "42", "null", "true", "{}", #"{"text":"hi"}"#,
            #"{"type":"annotation","op":"undo","streamId":1}"#, #"{"type":"annotation","op":"paint","owner":"agent","streamId":1}"#,
            #"{"client":"browser/1","code":"482-913-557-301","protocol":1,"role":"customer","type":"hello"}"#,
            #"{"granted":true,"source":"camera","type":"consent"}"#, #"{"streamId":1,"type":"stream.stop"}"#,
        ]
        for text in others { expectMiss(text) }

        // Every proper prefix of a valid annotation is a miss (and an error both ways).
        let full =
            ##"{"op":"add","owner":"customer","shape":{"color":"#ffffff","id":"t1","kind":"text","points":[[0.5,0.5]],"text":"WAN port","ttlMs":30000,"width":3},"streamId":1,"type":"annotation"}"##
        #expect(ControlMessage.fastDecode(text: full) != nil)
        var prefixes = 0
        for length in 0..<full.utf8.count {
            let prefix = String(decoding: full.utf8.prefix(length), as: UTF8.self)
            expectMiss(prefix)
            if case .success = codableResult(prefix) { Issue.record("the prefix of \(length) bytes decodes") }
            prefixes += 1
        }
        #expect(prefixes == full.utf8.count && prefixes > 150)
    }

    @Test("the fast writer writes JSONEncoder's bytes for generated chats and annotations, and they read back")
    func writerMatchesEncoder() throws {
        var generator = Generator(rng: XorShift(state: 0x7A4D_E11A_2025_0001))
        // Every ASCII byte alone, all of them together, and a few non-ASCII scalars.
        var messages: [(ControlMessage, Bool)] = []
        for byte in UInt8(0)...127 {
            messages.append((ControlMessage.chat(Chat(text: "<" + String(Character(Unicode.Scalar(byte))) + ">")), false))
        }
        let ascii = String((UInt8(0)...127).map { Character(Unicode.Scalar($0)) })
        messages.append((ControlMessage.chat(Chat(text: ascii)), false))
        messages.append((ControlMessage.chat(Chat(text: "é 😀 \u{2028}\u{2029} / \u{7F}", from: .customer, supervisor: "carol")), false))
        for index in 0..<400 {
            let plain = index.isMultiple(of: 5)
            messages.append((generator.message(index, plain: plain), plain))
        }
        var written = 0
        var fastRead = 0
        for (message, plain) in messages {
            let expected = message.codableEncoded
            guard let bytes = fastBytes(message) else {
                Issue.record("the fast writer declined a \(message.type): \(String(decoding: expected, as: UTF8.self))")
                continue
            }
            written += 1
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(bytes == expected, "fast: \(text)\nJSONEncoder: \(String(decoding: expected, as: UTF8.self))")
            #expect(Array(message.jsonBuffer.readableBytesView) == expected)
            #expect(message.jsonText == String(decoding: expected, as: UTF8.self))
            #expect(try ControlMessage.decode(text: text) == message, "\(text)")
            #expect(try ControlMessage.codableDecode(text: text) == message, "\(text)")
            if plain {
                // Plain text, no broker-set member, no exponent: what the writer wrote, the reader takes.
                #expect(ControlMessage.fastDecode(text: text) == message, "\(text)")
                fastRead += 1
            }
        }
        #expect(written == messages.count && written > 500)
        #expect(fastRead == 80)
    }

    @Test("messages other than chat and annotation are left to JSONEncoder")
    func otherTypes() throws {
        var declined = 0
        for vector in try Vectors.control().valid {
            let message = try ControlMessage.codableDecode(text: vector.json)
            guard !isFastType(message) else { continue }
            #expect(fastBytes(message) == nil, "\(vector.name)")
            #expect(Array(message.jsonBuffer.readableBytesView) == message.codableEncoded, "\(vector.name)")
            declined += 1
        }
        #expect(declined >= 40)
        let named = [
            #"{"client":"browser/1","code":"482-913-557-301","protocol":1,"role":"customer","type":"hello"}"#,
            #"{"granted":true,"source":"camera","type":"consent"}"#,
            #"{"codec":"jpeg","fps":15,"height":720,"source":"camera","streamId":1,"type":"stream.start","width":1280}"#,
        ]
        let types = try named.map { (text: String) throws -> String in
            let message = try ControlMessage.codableDecode(text: text)
            #expect(fastBytes(message) == nil)
            return message.type
        }
        #expect(types == ["hello", "consent", "stream.start"])
    }
}

// MARK: - helpers

private func codableResult(_ text: String) -> Result<ControlMessage, ProtocolError> {
    do { return .success(try ControlMessage.codableDecode(text: text)) } catch { return .failure(error) }
}

private func publicResult(_ text: String) -> Result<ControlMessage, ProtocolError> {
    do { return .success(try ControlMessage.decode(text: text)) } catch { return .failure(error) }
}

private func isFastType(_ message: ControlMessage) -> Bool {
    switch message {
    case .chat, .annotation: true
    default: false
    }
}

/// The fast writer's bytes, or nil when it declines; checks it appends and, declining, writes nothing.
private func fastBytes(_ message: ControlMessage, sourceLocation: SourceLocation = #_sourceLocation) -> [UInt8]? {
    let prefix = Array("x,".utf8)
    var buffer = ByteBuffer(bytes: prefix)
    let handled = message.fastEncode(into: &buffer)
    let written = Array(buffer.readableBytesView)
    #expect(written.starts(with: prefix), "fastEncode lost what the buffer held", sourceLocation: sourceLocation)
    guard handled else {
        #expect(written == prefix, "fastEncode declined \(message.type) but wrote", sourceLocation: sourceLocation)
        return nil
    }
    return Array(written.dropFirst(prefix.count))
}

private func expectHit(_ text: String, _ expected: ControlMessage, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ControlMessage.fastDecode(text: text) == expected, "fast path: \(text)", sourceLocation: sourceLocation)
    #expect(codableResult(text) == .success(expected), "Codable path: \(text)", sourceLocation: sourceLocation)
    #expect(publicResult(text) == .success(expected), "decode(text:): \(text)", sourceLocation: sourceLocation)
}

private func expectMiss(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ControlMessage.fastDecode(text: text) == nil, "the fast path took \(text.debugDescription)", sourceLocation: sourceLocation)
    #expect(
        publicResult(text) == codableResult(text),
        "decode(text:) differs from Codable on \(text.debugDescription)",
        sourceLocation: sourceLocation
    )
}

/// xorshift64: a deterministic generator for the tests.
private struct XorShift: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}

/// Chat and Annotation values. `plain` ones have no broker-set member, no character that needs an
/// escape and no number that needs an exponent: the fast reader must take their encoding.
private struct Generator {
    var rng: XorShift
    static let scalars: [Unicode.Scalar] = ["é", "😀", "\u{2028}", "\u{2029}", "\u{FEFF}", "中", "/", "\\", "\"", "\u{7F}"]
    static let plainCharacters = Array("abcXYZ019 -_#/.é")
    static let doubles: [Double] = [
        0, 1, -0.0, 1e-7, 0.1, 1.0 / 3, 0.5, 2.5, 4, 100, -1, 1e-300, 1e300, 1e16, 123_456.789,
        .greatestFiniteMagnitude, -Double.greatestFiniteMagnitude, .leastNormalMagnitude,
    ]
    static let ttls: [Int] = [0, 1, 30_000, 3_600_000, Int(Int32.max), -1, .max, .min]

    mutating func bool() -> Bool { Bool.random(using: &rng) }
    mutating func pick<T>(_ values: [T]) -> T { values.randomElement(using: &rng)! }
    mutating func role() -> ParticipantRole? { bool() ? nil : pick(ParticipantRole.allCases) }

    mutating func string(plain: Bool) -> String {
        let count = Int.random(in: 0...12, using: &rng)
        if plain {
            var characters: [Character] = []
            for _ in 0..<count { characters.append(pick(Self.plainCharacters)) }
            return String(characters)
        }
        var scalars = String.UnicodeScalarView()
        for _ in 0..<count {
            let ascii = Unicode.Scalar(UInt8.random(in: 0...127, using: &rng))
            scalars.append(bool() ? ascii : pick(Self.scalars))
        }
        return String(scalars)
    }

    mutating func double(plain: Bool) -> Double {
        if plain { return Double(Int.random(in: 0...1000, using: &rng)) / 1000 }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return pick(Self.doubles)
        case 1: return Double.random(in: 0...1, using: &rng)
        case 2: return Double.random(in: -1e6...1e6, using: &rng)
        default:
            let value = Double(bitPattern: rng.next())
            return value.isNormal ? value : 0.5  // finite, not subnormal
        }
    }

    mutating func points(plain: Bool) -> [[Double]] {
        var points: [[Double]] = []
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            var point: [Double] = []
            for _ in 0..<(plain ? 2 : Int.random(in: 0...3, using: &rng)) { point.append(double(plain: plain)) }
            points.append(point)
        }
        return points
    }

    mutating func message(_ index: Int, plain: Bool) -> ControlMessage {
        if index.isMultiple(of: 2) {
            let text = string(plain: plain)
            let from = plain ? nil : role()
            var supervisor: String?
            if !plain, bool() { supervisor = string(plain: false) }
            return .chat(Chat(text: text, from: from, supervisor: supervisor))
        }
        let color = bool() ? "#ff3b30" : string(plain: plain)
        let text = bool() ? string(plain: plain) : nil
        let ttl = plain ? Int.random(in: 0...3_600_000, using: &rng) : pick(Self.ttls)
        let shape = Shape(
            id: string(plain: plain),
            kind: Shape.Kind.allCases[(index / 2) % 6],
            color: color,
            width: double(plain: plain),
            points: points(plain: plain),
            text: text,
            ttlMs: bool() ? ttl : nil,
            author: plain ? nil : role()
        )
        let streamIDs: [UInt16] = [0, 65535, UInt16.random(in: 0...UInt16.max, using: &rng)]
        let streamID = pick(streamIDs)
        let owner = pick(ParticipantRole.allCases)
        let id = bool() ? string(plain: plain) : nil
        let appended = bool() ? points(plain: plain) : nil
        let keepShape = bool()
        let author = plain ? nil : role()
        return .annotation(
            Annotation(
                op: Annotation.Operation.allCases[(index / 2) % 5],
                owner: owner,
                streamID: streamID,
                shape: keepShape ? shape : nil,
                id: id,
                points: appended,
                author: author
            )
        )
    }
}
