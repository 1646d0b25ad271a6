import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The annotations on one stream and its freeze state, as the broker keeps them so that a
/// participant who joins gets a snapshot before live updates.
///
/// Pure logic: ``apply(_:by:now:maxBytes:)`` validates an operation and updates the overlay;
/// the broker relays only what was accepted. Bounded: at most ``maxShapes`` shapes, and at
/// most the `maxBytes` the caller allows, counted by ``cost(of:)``.
///
/// Compact: a point is two `UInt16` in units of 1/``coordinateScale`` of the stream (4 bytes,
/// in one contiguous array per shape), not a `[Double]` array of its own. Coordinates are
/// rounded to that grid when a shape is accepted, and relayed rounded, so every participant
/// and every snapshot agree.
public struct OverlayState: Sendable, Equatable {
    public static let maxShapes = 500
    /// Coordinates are kept in units of 1/10000 of the stream's width and height.
    public static let coordinateScale = 10_000
    /// What a shape costs besides its points: its other members, and the broker's bookkeeping.
    public static let bytesPerShape = 256
    /// What a point costs: at most this many bytes of JSON (`[0.1234,0.5678],`).
    public static let bytesPerPoint = 16
    /// What a shape's anchor costs (§5.15): its epoch and six numbers.
    public static let bytesPerAnchor = 192

    public enum Rejection: Error, Equatable, Sendable {
        /// A field is missing or out of range (the name is the identifier's detail).
        case invalidField(String)
        /// No shape with that id (remove, append).
        case unknownShape
        /// The overlay holds ``OverlayState/maxShapes`` shapes already.
        case overlayFull
        /// The session's overlay budget (``OverlayLimits/maxBytesPerSession``) would be exceeded.
        case overBudget
        /// Only the author of a shape may change it.
        case notAuthor
    }

    /// One kept shape, compactly.
    private struct Entry: Sendable, Equatable {
        var id: String
        var kind: Shape.Kind
        var color: String
        var width: Double
        /// x, y, x, y, … in units of 1/``OverlayState/coordinateScale``.
        var coordinates: [UInt16]
        var text: String?
        var ttlMs: Int?
        var author: ParticipantRole
        var anchor: ShapeAnchor?
        var expiresAt: Date?
        /// ``OverlayState/cost(of:)`` of the shape as kept now.
        var bytes: Int

        init(_ shape: Shape, author: ParticipantRole, now: Date) {
            id = shape.id
            kind = shape.kind
            color = shape.color
            width = shape.width
            var coordinates: [UInt16] = []
            coordinates.reserveCapacity(shape.points.count * 2)
            OverlayState.appendCoordinates(of: shape.points, to: &coordinates)
            self.coordinates = coordinates
            text = shape.text
            ttlMs = shape.ttlMs
            self.author = author
            anchor = shape.anchor
            expiresAt = shape.ttlMs.map { now.addingTimeInterval(Double($0) / 1000) }
            bytes = OverlayState.cost(of: shape)
        }

        var pointCount: Int { coordinates.count / 2 }

        var shape: Shape {
            var points: [[Double]] = []
            points.reserveCapacity(pointCount)
            var index = 0
            while index + 1 < coordinates.count {
                points.append([OverlayState.coordinate(coordinates[index]), OverlayState.coordinate(coordinates[index + 1])])
                index += 2
            }
            return Shape(id: id, kind: kind, color: color, width: width, points: points, text: text, ttlMs: ttlMs, author: author, anchor: anchor)
        }
    }

    /// Shapes in drawing order.
    private var entries: [Entry] = []
    public private(set) var frozenSequence: UInt32?
    /// The sum of ``cost(of:)`` over the kept shapes.
    public private(set) var bytes = 0

    public init() {}

    public var isEmpty: Bool { entries.isEmpty && frozenSequence == nil }

    /// Kept shapes, expired ones included until the next operation drops them.
    public var shapeCount: Int { entries.count }

    /// The budget bytes a shape takes while kept: ``bytesPerShape``, plus ``bytesPerPoint``
    /// per point, plus the UTF-8 bytes of its id and text, plus ``bytesPerAnchor`` when it is
    /// anchored (protocol/README.md §5.10, §5.15).
    public static func cost(of shape: Shape) -> Int {
        bytesPerShape + bytesPerPoint * shape.points.count + shape.id.utf8.count + (shape.text?.utf8.count ?? 0)
            + (shape.anchor == nil ? 0 : bytesPerAnchor)
    }

    /// `value` (0…1) on the grid of ``coordinateScale``.
    static func quantize(_ value: Double) -> UInt16 {
        guard value > 0 else { return 0 }  // also NaN
        guard value < 1 else { return UInt16(coordinateScale) }
        return UInt16((value * Double(coordinateScale)).rounded())
    }

    static func coordinate(_ value: UInt16) -> Double {
        Double(value) / Double(coordinateScale)
    }

    /// `points` rounded to the grid the overlay keeps them on.
    public static func quantized(_ points: [[Double]]) -> [[Double]] {
        points.map { point in point.map { coordinate(quantize($0)) } }
    }

    private static func appendCoordinates(of points: [[Double]], to coordinates: inout [UInt16]) {
        for point in points where point.count == 2 {
            coordinates.append(quantize(point[0]))
            coordinates.append(quantize(point[1]))
        }
    }

    /// The shapes still visible at `now`, in drawing order.
    public func shapes(at now: Date) -> [Shape] {
        entries.filter { $0.expiresAt.map { $0 > now } ?? true }.map(\.shape)
    }

    /// Validates and applies an annotation from `author`. Returns the operation as it must
    /// be relayed (with its author set and its points rounded to the grid), or why it was
    /// refused. Pointer shapes are relayed but never kept. The overlay may hold at most
    /// `maxBytes` (see ``cost(of:)``) afterwards, else `overBudget` and nothing changes.
    public mutating func apply(_ annotation: Annotation, by author: ParticipantRole, now: Date, maxBytes: Int = .max) -> Result<Annotation, Rejection>
    {
        var relayed = annotation
        relayed.author = author
        dropExpired(now: now)
        switch annotation.op {
        case .add:
            guard var shape = annotation.shape else { return .failure(.invalidField("shape")) }
            if let field = shape.invalidField { return .failure(.invalidField(field)) }
            shape.author = author
            shape.points = Self.quantized(shape.points)
            relayed.shape = shape
            if shape.kind == .pointer { return .success(relayed) }
            let entry = Entry(shape, author: author, now: now)
            if let index = entries.firstIndex(where: { $0.id == shape.id }) {
                guard entries[index].author == author else { return .failure(.notAuthor) }
                let total = bytes - entries[index].bytes + entry.bytes
                guard total <= maxBytes else { return .failure(.overBudget) }
                entries[index] = entry
                bytes = total
            } else {
                guard entries.count < Self.maxShapes else { return .failure(.overlayFull) }
                guard bytes + entry.bytes <= maxBytes else { return .failure(.overBudget) }
                entries.append(entry)
                bytes += entry.bytes
            }
        case .append:
            guard let id = annotation.id else { return .failure(.invalidField("id")) }
            guard let points = annotation.points, !points.isEmpty, points.allSatisfy(Shape.isPoint) else {
                return .failure(.invalidField("points"))
            }
            guard let index = entries.firstIndex(where: { $0.id == id }) else { return .failure(.unknownShape) }
            guard entries[index].author == author else { return .failure(.notAuthor) }
            guard entries[index].kind == .stroke else { return .failure(.invalidField("id")) }
            guard entries[index].pointCount + points.count <= Shape.maxPoints else { return .failure(.invalidField("points")) }
            let added = Self.bytesPerPoint * points.count
            guard bytes + added <= maxBytes else { return .failure(.overBudget) }
            Self.appendCoordinates(of: points, to: &entries[index].coordinates)
            entries[index].bytes += added
            bytes += added
            relayed.points = Self.quantized(points)
        case .remove:
            guard let id = annotation.id else { return .failure(.invalidField("id")) }
            guard let index = entries.firstIndex(where: { $0.id == id }) else { return .failure(.unknownShape) }
            bytes -= entries.remove(at: index).bytes
        case .undo:
            guard let index = entries.lastIndex(where: { $0.author == author }) else { return .failure(.unknownShape) }
            // Tell the peer exactly which shape went.
            relayed.id = entries[index].id
            bytes -= entries.remove(at: index).bytes
        case .clear:
            entries.removeAll()
            bytes = 0
        }
        return .success(relayed)
    }

    /// Holds the frame `sequence`; annotations stay.
    public mutating func freeze(sequence: UInt32) {
        frozenSequence = sequence
    }

    public mutating func unfreeze() {
        frozenSequence = nil
    }

    /// Drops the shapes whose time-to-live has passed.
    public mutating func dropExpired(now: Date) {
        var removed = 0
        entries.removeAll { entry in
            guard let expiresAt = entry.expiresAt, expiresAt <= now else { return false }
            removed += entry.bytes
            return true
        }
        bytes -= removed
    }
}
