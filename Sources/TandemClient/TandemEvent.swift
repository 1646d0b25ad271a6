import TandemProtocol

/// What arrives from the broker: a control message or a media frame.
public enum TandemEvent: Sendable, Equatable {
    case control(ControlMessage)
    case frame(MediaFrame)
}

/// How the broker closed the connection.
public struct TandemClosure: Sendable, Equatable, CustomStringConvertible {
    /// The WebSocket close code, when the broker sent one.
    public var code: UInt16?
    public var reason: String?

    public init(code: UInt16?, reason: String?) {
        self.code = code
        self.reason = reason
    }

    /// The documented close code, when it is one of Tandem's.
    public var tandemCode: TandemCloseCode? { code.flatMap(TandemCloseCode.init(rawValue:)) }

    public var description: String {
        guard let code else { return "connection closed without a close frame" }
        return "closed with \(code)" + (reason.map { " (\($0))" } ?? "")
    }
}
