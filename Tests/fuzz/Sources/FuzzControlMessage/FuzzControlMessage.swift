import FuzzDriver
import NIOCore
@_spi(Codec) import TandemProtocol

/// libFuzzer entry point: any bytes as a WebSocket text message (protocol/README.md §5).
///
/// Decoding must never crash; whatever decodes must encode to JSON that decodes to the
/// same message and encodes to the same text again. The fast path of `chat` and
/// `annotation` (ControlMessage+FastPath.swift) must agree with the `Codable` path.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlMessage(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: start, count: count)
    // The WebSocket text path hands the decoder a valid String.
    checkFastPath(String(decoding: bytes, as: UTF8.self))
    var buffer = ByteBuffer(bytes: bytes)
    guard let message = try? ControlMessage.decode(from: &buffer) else { return 0 }
    let text = message.jsonText
    guard let again = try? ControlMessage.decode(text: text) else { preconditionFailure("an encoded message does not decode: \(message.type)") }
    precondition(again.jsonText == text, "encode → decode → encode is not stable for \(message.type)")
    return 0
}

/// What the fast reader takes, `JSONDecoder` takes with an equal value; `decode(text:)` answers
/// as the `Codable` path does (value or error); what the fast writer writes is `JSONEncoder`'s bytes.
func checkFastPath(_ text: String) {
    let codable: Result<ControlMessage, ProtocolError>
    do { codable = .success(try ControlMessage.codableDecode(text: text)) } catch { codable = .failure(error) }
    if let fast = ControlMessage.fastDecode(text: text) {
        guard case .success(let message) = codable else { preconditionFailure("the fast path took a \(fast.type) the Codable path refuses") }
        precondition(message == fast, "the fast path and the Codable path read different \(fast.type) messages")
    }
    let decoded: Result<ControlMessage, ProtocolError>
    do { decoded = .success(try ControlMessage.decode(text: text)) } catch { decoded = .failure(error) }
    precondition(decoded == codable, "decode(text:) and the Codable path disagree")
    guard case .success(let message) = codable else { return }
    var written = ByteBuffer()
    if message.fastEncode(into: &written) {
        precondition(Array(written.readableBytesView) == message.codableEncoded, "the fast writer and JSONEncoder differ for \(message.type)")
    } else {
        precondition(written.readableBytes == 0, "the fast writer declined \(message.type) but wrote")
    }
}

/// The executable's entry point (SwiftPM links `main` to `FuzzControlMessage_main`).
@_cdecl("FuzzControlMessage_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, count in data.map { fuzzControlMessage($0, count) } ?? 0 }
}
