import FuzzDriver
import NIOCore
import TandemProtocol

/// libFuzzer entry point: any bytes as a binary WebSocket message (protocol/README.md §4).
///
/// Decoding must never crash, a frame must not be decoded from fewer bytes than it
/// declares, and a decoded frame must survive encode → decode unchanged (after the first
/// encode has dropped unknown header extensions).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMediaFrame(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let message = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    _ = try? MediaFrameHeader.validate(message: message)
    _ = try? MediaFrame.decodeMessage(message)
    var stream = message
    guard let frame = try? MediaFrame.decode(from: &stream) else { return 0 }
    let consumed = count - stream.readableBytes
    precondition(consumed == Int(frame.header.headerLength) + frame.payload.readableBytes, "consumed bytes differ from the header's lengths")
    if consumed > 1 {
        var prefix = message.getSlice(at: message.readerIndex, length: consumed - 1)!
        precondition((try? MediaFrame.decode(from: &prefix)) ?? nil == nil, "a frame was decoded from a strict prefix")
    }
    let canonical = frame.encoded()
    guard let again = try? MediaFrame.decodeMessage(canonical) else { preconditionFailure("an encoded frame does not decode") }
    precondition(again.encoded() == canonical, "encode → decode → encode is not stable")
    precondition(again.payload == frame.payload, "the payload changed")
    return 0
}

/// The executable's entry point (SwiftPM links `main` to `FuzzMediaFrame_main`).
@_cdecl("FuzzMediaFrame_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, count in data.map { fuzzMediaFrame($0, count) } ?? 0 }
}
