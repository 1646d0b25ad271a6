import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Sending an overlay to a participant who joins, resumes, takes over or watches, in
/// messages no larger than the control message limit (protocol/README.md §5.10).
extension OverlayState {
    /// The room a point is given in a catch-up message.
    static let snapshotBytesPerPoint = 18

    /// The messages that bring a participant up to date with this overlay, in order, each
    /// at most `maxMessageSize` bytes of JSON:
    ///
    /// 1. an `overlay.snapshot` with the freeze and as many shapes (in drawing order) as fit;
    ///    it replaces the receiver's overlay of the stream and is always sent;
    /// 2. for the shapes that did not fit, `overlay.snapshot`s with `continued: true`;
    /// 3. a stroke too long for any message goes into a `continued` snapshot with the points
    ///    that fit, and the rest follows as `annotation` `append`s of its author, before the
    ///    shapes drawn after it.
    ///
    /// Sizes are reckoned with ``snapshotBytesPerPoint`` per point (more than a kept point
    /// takes in JSON, `[0.1234,0.5678],`, even written with exponents) and the exact
    /// encoding of everything else. Only a shape whose members other than
    /// its points exceed `maxMessageSize` (impossible within the protocol's limits and a
    /// 64 KiB message) is sent whole in a message of its own.
    public func snapshotMessages(owner: ParticipantRole, streamID: UInt16, now: Date, maxMessageSize: Int) -> [ControlMessage] {
        let encoder = TandemJSON.makeEncoder()
        func size(_ message: ControlMessage) -> Int { message.jsonText.utf8.count }
        var messages: [ControlMessage] = []
        var chunk = OverlaySnapshot(owner: owner, streamID: streamID, shapes: [], frozenSequence: frozenSequence)
        var used = size(.overlaySnapshot(chunk))
        let continuedBase = size(
            .overlaySnapshot(OverlaySnapshot(owner: owner, streamID: streamID, shapes: [], frozenSequence: nil, continued: true))
        )
        func flush() {
            messages.append(.overlaySnapshot(chunk))
            chunk = OverlaySnapshot(owner: owner, streamID: streamID, shapes: [], frozenSequence: nil, continued: true)
            used = continuedBase
        }
        for shape in shapes(at: now) {
            var skeleton = shape
            skeleton.points = []
            let skeletonSize = (try? encoder.encode(skeleton).count) ?? maxMessageSize
            let shapeSize = skeletonSize + Self.snapshotBytesPerPoint * shape.points.count
            let separator = chunk.shapes.isEmpty ? 0 : 1
            if used + separator + shapeSize <= maxMessageSize {
                chunk.shapes.append(shape)
                used += separator + shapeSize
                continue
            }
            // The first message is sent even without shapes: it replaces and carries the freeze.
            if !chunk.shapes.isEmpty || chunk.continued != true { flush() }
            if used + shapeSize <= maxMessageSize || shape.kind != .stroke {
                chunk.shapes.append(shape)
                used += shapeSize
                continue
            }
            // A stroke longer than a message: its head, then appends.
            let room = (maxMessageSize - used - skeletonSize) / Self.snapshotBytesPerPoint
            let headCount = min(shape.points.count, max(1, room))
            var head = shape
            head.points = Array(shape.points.prefix(headCount))
            chunk.shapes.append(head)
            flush()
            var rest = shape.points.dropFirst(headCount)
            let appendBase = size(
                .annotation(Annotation(op: .append, owner: owner, streamID: streamID, id: shape.id, points: [], author: shape.author))
            )
            let perAppend = max(1, (maxMessageSize - appendBase) / Self.snapshotBytesPerPoint)
            while !rest.isEmpty {
                let points = Array(rest.prefix(perAppend))
                rest = rest.dropFirst(points.count)
                messages.append(
                    .annotation(Annotation(op: .append, owner: owner, streamID: streamID, id: shape.id, points: points, author: shape.author))
                )
            }
        }
        if !chunk.shapes.isEmpty || chunk.continued != true { flush() }
        return messages
    }
}
