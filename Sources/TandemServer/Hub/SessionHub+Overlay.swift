/// The memory the live sessions' annotations take (protocol/README.md §5.10).
extension SessionHub {
    /// Budget bytes of the annotations every live session keeps now.
    func overlayBytes() -> Int {
        sessions.values.reduce(0) { $0 + $1.overlayBytes }
    }
}
