import FuzzDriver
import NIOCore
import TandemProtocol

/// libFuzzer entry point: any bytes as a WebSocket text message (protocol/README.md §5).
///
/// Decoding must never crash; whatever decodes must encode to JSON that decodes to the
/// same message and encodes to the same text again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlMessage(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    var buffer = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    guard let message = try? ControlMessage.decode(from: &buffer) else { return 0 }
    let text = message.jsonText
    guard let again = try? ControlMessage.decode(text: text) else { preconditionFailure("an encoded message does not decode: \(message.type)") }
    precondition(again.jsonText == text, "encode → decode → encode is not stable for \(message.type)")
    return 0
}

/// The executable's entry point (SwiftPM links `main` to `FuzzControlMessage_main`).
@_cdecl("FuzzControlMessage_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, count in data.map { fuzzControlMessage($0, count) } ?? 0 }
}
