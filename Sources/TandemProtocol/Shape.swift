/// One annotation drawn on a stream. Coordinates are normalised to the stream: (0, 0) is the
/// top-left corner, (1, 1) the bottom-right, so shapes survive resolution changes.
///
/// See [protocol/README.md § Annotations](../../protocol/README.md#510-annotations).
public struct Shape: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Freehand: one or more points, extended by `append` while drawing.
        case stroke
        /// Two points: tail, head.
        case arrow
        /// Two points: opposite corners.
        case rect
        /// Two points: opposite corners of the bounding box.
        case ellipse
        /// One point (top-left of the text) and `text`.
        case text
        /// Laser pointer: one point, ephemeral, never kept in the overlay.
        case pointer
    }

    public static let maxPoints = 10_000
    public static let maxTextLength = 500

    /// Chosen by the author, unique per stream: 1–64 characters.
    public var id: String
    public var kind: Kind
    /// `#rrggbb`.
    public var color: String
    /// Line width in thousandths of the stream width (1–100).
    public var width: Double
    public var points: [[Double]]
    public var text: String?
    /// The shape disappears this many milliseconds after it was drawn.
    public var ttlMs: Int?
    /// Set by the broker: who drew it.
    public var author: ParticipantRole?
    /// Drawn anchored to the scene (§5.15): the points follow the stream's ``Track``.
    public var anchor: ShapeAnchor?

    public init(
        id: String,
        kind: Kind,
        color: String = "#ff3b30",
        width: Double = 4,
        points: [[Double]],
        text: String? = nil,
        ttlMs: Int? = nil,
        author: ParticipantRole? = nil,
        anchor: ShapeAnchor? = nil
    ) {
        self.id = id
        self.kind = kind
        self.color = color
        self.width = width
        self.points = points
        self.text = text
        self.ttlMs = ttlMs
        self.author = author
        self.anchor = anchor
    }

    /// Why the shape is not acceptable, or nil. Checks ranges the JSON types cannot.
    public var invalidField: String? {
        if id.isEmpty || id.count > 64 { return "shape.id" }
        if !Shape.isColor(color) { return "shape.color" }
        if !(width >= 1 && width <= 100) { return "shape.width" }
        if points.count > Shape.maxPoints || !points.allSatisfy(Shape.isPoint) { return "shape.points" }
        switch kind {
        case .stroke: if points.isEmpty { return "shape.points" }
        case .arrow, .rect, .ellipse: if points.count != 2 { return "shape.points" }
        case .text:
            if points.count != 1 { return "shape.points" }
            guard let text, !text.isEmpty, text.count <= Shape.maxTextLength else { return "shape.text" }
        case .pointer: if points.count != 1 { return "shape.points" }
        }
        if kind != .text, text != nil { return "shape.text" }
        if let ttlMs, ttlMs < 1 || ttlMs > 3_600_000 { return "shape.ttlMs" }
        if let anchor, !anchor.isValid { return "shape.anchor" }
        return nil
    }

    public static func isPoint(_ point: [Double]) -> Bool {
        point.count == 2 && point.allSatisfy { $0 >= 0 && $0 <= 1 }
    }

    static func isColor(_ color: String) -> Bool {
        let utf8 = Array(color.utf8)
        return utf8.count == 7 && utf8[0] == UInt8(ascii: "#")
            && utf8.dropFirst().allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
    }
}
