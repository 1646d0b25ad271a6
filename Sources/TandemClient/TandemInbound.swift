import NIOCore
import TandemProtocol
import WSClient

/// The broker's messages, decoded: control messages and media frames.
///
/// Reading applies TCP back-pressure: the broker drops media for a reader that falls behind.
public struct TandemInbound: AsyncSequence, Sendable {
    public typealias Element = TandemEvent
    let messages: WebSocketInboundMessageStream

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: WebSocketInboundMessageStream.AsyncIterator

        /// The next event. Control messages of types this client does not know are skipped,
        /// as protocol/README.md §10 asks.
        public mutating func next() async throws -> TandemEvent? {
            while let message = try await base.next() {
                switch message {
                case .text(let text):
                    do {
                        return .control(try ControlMessage.decode(text: text))
                    } catch  where error.identifier == "unknown-type" {
                        continue
                    }
                case .binary(let buffer):
                    return .frame(try MediaFrame.decodeMessage(buffer))
                }
            }
            return nil
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: messages.makeAsyncIterator())
    }
}

/// Sends control messages and media frames to the broker.
public struct TandemOutbound: Sendable {
    let writer: WebSocketOutboundWriter

    public func send(_ message: ControlMessage) async throws {
        try await writer.write(.text(message.jsonText))
    }

    public func send(_ frame: MediaFrame) async throws {
        try await writer.write(.binary(frame.encoded()))
    }

    /// Sends an already encoded binary message (used to test the broker's checks).
    public func sendRaw(binary buffer: ByteBuffer) async throws {
        try await writer.write(.binary(buffer))
    }

    /// Sends raw text (used to test the broker's checks).
    public func sendRaw(text: String) async throws {
        try await writer.write(.text(text))
    }
}
