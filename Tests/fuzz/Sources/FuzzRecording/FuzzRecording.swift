import FuzzDriver
import NIOCore
import TandemProtocol

/// libFuzzer entry point: any bytes as the entries of a recording file after its magic
/// (protocol/README.md §19).
///
/// Decoding must never crash, must consume exactly the entries it returns, never decode an
/// entry from a strict prefix, and decoded entries must re-encode to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecording(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let input = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    var stream = input
    var entries: [RecordingEntry] = []
    while let entry = try? RecordingEntry.decode(from: &stream) { entries.append(entry) }
    let consumed = count - stream.readableBytes
    var encoded = ByteBuffer()
    for entry in entries { entry.encode(into: &encoded) }
    precondition(encoded == input.getSlice(at: input.readerIndex, length: consumed)!, "decoded entries do not re-encode to the bytes they came from")
    if let first = entries.first {
        var one = ByteBuffer()
        first.encode(into: &one)
        var prefix = one.getSlice(at: 0, length: one.readableBytes - 1)!
        precondition((try? RecordingEntry.decode(from: &prefix)) ?? nil == nil, "an entry was decoded from a strict prefix")
    }
    return 0
}

/// The executable's entry point (SwiftPM links `main` to `FuzzRecording_main`).
@_cdecl("FuzzRecording_main")
func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv) { data, count in data.map { fuzzRecording($0, count) } ?? 0 }
}
