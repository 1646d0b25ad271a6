import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The annotations on one stream and its freeze state, as the broker keeps them so that a
/// participant who joins gets a snapshot before live updates.
///
/// Pure logic: ``apply(_:by:now:)`` validates an operation and updates the overlay;
/// the broker relays only what was accepted. Bounded: at most ``maxShapes`` shapes.
public struct OverlayState: Sendable, Equatable {
    public static let maxShapes = 500

    public enum Rejection: Error, Equatable, Sendable {
        /// A field is missing or out of range (the name is the identifier's detail).
        case invalidField(String)
        /// No shape with that id (remove, append).
        case unknownShape
        /// The overlay holds ``OverlayState/maxShapes`` shapes already.
        case overlayFull
        /// Only the author of a shape may change it.
        case notAuthor
    }

    private struct Entry: Sendable, Equatable {
        var shape: Shape
        var expiresAt: Date?
    }

    /// Shapes in drawing order.
    private var entries: [Entry] = []
    public private(set) var frozenSequence: UInt32?

    public init() {}

    public var isEmpty: Bool { entries.isEmpty && frozenSequence == nil }

    /// The shapes still visible at `now`, in drawing order.
    public func shapes(at now: Date) -> [Shape] {
        entries.filter { $0.expiresAt.map { $0 > now } ?? true }.map(\.shape)
    }

    /// Validates and applies an annotation from `author`. Returns the operation as it must
    /// be relayed (with its author set), or why it was refused. Pointer shapes are relayed
    /// but never kept.
    public mutating func apply(_ annotation: Annotation, by author: ParticipantRole, now: Date) -> Result<Annotation, Rejection> {
        var relayed = annotation
        relayed.author = author
        dropExpired(now: now)
        switch annotation.op {
        case .add:
            guard var shape = annotation.shape else { return .failure(.invalidField("shape")) }
            if let field = shape.invalidField { return .failure(.invalidField(field)) }
            shape.author = author
            relayed.shape = shape
            if shape.kind == .pointer { return .success(relayed) }
            let entry = Entry(shape: shape, expiresAt: shape.ttlMs.map { now.addingTimeInterval(Double($0) / 1000) })
            if let index = entries.firstIndex(where: { $0.shape.id == shape.id }) {
                guard entries[index].shape.author == author else { return .failure(.notAuthor) }
                entries[index] = entry
            } else {
                guard entries.count < Self.maxShapes else { return .failure(.overlayFull) }
                entries.append(entry)
            }
        case .append:
            guard let id = annotation.id else { return .failure(.invalidField("id")) }
            guard let points = annotation.points, !points.isEmpty, points.allSatisfy(Shape.isPoint) else {
                return .failure(.invalidField("points"))
            }
            guard let index = entries.firstIndex(where: { $0.shape.id == id }) else { return .failure(.unknownShape) }
            guard entries[index].shape.author == author else { return .failure(.notAuthor) }
            guard entries[index].shape.kind == .stroke else { return .failure(.invalidField("id")) }
            guard entries[index].shape.points.count + points.count <= Shape.maxPoints else { return .failure(.invalidField("points")) }
            entries[index].shape.points.append(contentsOf: points)
        case .remove:
            guard let id = annotation.id else { return .failure(.invalidField("id")) }
            guard let index = entries.firstIndex(where: { $0.shape.id == id }) else { return .failure(.unknownShape) }
            entries.remove(at: index)
        case .undo:
            guard let index = entries.lastIndex(where: { $0.shape.author == author }) else { return .failure(.unknownShape) }
            // Tell the peer exactly which shape went.
            relayed.id = entries[index].shape.id
            entries.remove(at: index)
        case .clear:
            entries.removeAll()
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

    /// The snapshot a joining participant receives.
    public func snapshot(owner: ParticipantRole, streamID: UInt16, now: Date) -> OverlaySnapshot {
        OverlaySnapshot(owner: owner, streamID: streamID, shapes: shapes(at: now), frozenSequence: frozenSequence)
    }

    private mutating func dropExpired(now: Date) {
        entries.removeAll { $0.expiresAt.map { $0 <= now } ?? false }
    }
}
