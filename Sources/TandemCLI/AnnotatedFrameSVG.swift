import Foundation
import TandemProtocol

/// A frame with its annotations drawn on it, as SVG: the frame image (referenced, not
/// re-encoded) under the shapes, drawn as the browser overlay draws them (overlay.js):
/// points are fractions of the frame, widths thousandths of its width. Anchored shapes are
/// drawn through the frame's `track` (§5.15), faded and marked "lost" when it is lost.
enum AnnotatedFrameSVG {
    static func render(imageHref: String, width: Int, height: Int, shapes: [Shape], track: Track? = nil) -> String {
        let w = Double(width)
        let h = Double(height)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
            <image href="\(escape(imageHref))" xlink:href="\(escape(imageHref))" x="0" y="0" width="\(width)" height="\(height)"/>

            """
        for shape in shapes {
            let placed = shape.drawnPoints(on: track)
            let points = placed.points.map { (x: $0[0] * w, y: $0[1] * h) }
            guard let first = points.first else { continue }
            if placed.lost { svg += "<g opacity=\"0.35\">\n" }
            defer {
                if placed.lost {
                    let last = points[points.count - 1]
                    svg +=
                        "<text x=\(format(last.x + 6)) y=\(format(last.y - 6)) font-family=\"system-ui, sans-serif\" font-size=\"13\" fill=\"#ffffff\">lost</text>\n</g>\n"
                }
            }
            let line = max(1, shape.width / 1000 * w)
            let color = escape(shape.color)
            let stroke = "stroke=\"\(color)\" stroke-width=\(format(line)) stroke-linecap=\"round\" stroke-linejoin=\"round\" fill=\"none\""
            switch shape.kind {
            case .stroke:
                let path = points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(number($0.element.x)) \(number($0.element.y))" }.joined(
                    separator: " "
                )
                svg += "<path d=\"\(path)\" \(stroke)/>\n"
            case .arrow where points.count >= 2:
                let (x1, y1, x2, y2) = (points[0].x, points[0].y, points[1].x, points[1].y)
                let angle = atan2(y2 - y1, x2 - x1)
                let head = max(line * 4, 12)
                let left = (x2 - head * cos(angle - .pi / 7), y2 - head * sin(angle - .pi / 7))
                let right = (x2 - head * cos(angle + .pi / 7), y2 - head * sin(angle + .pi / 7))
                svg += "<line x1=\(format(x1)) y1=\(format(y1)) x2=\(format(x2)) y2=\(format(y2)) \(stroke)/>\n"
                svg +=
                    "<polygon points=\"\(number(x2)),\(number(y2)) \(number(left.0)),\(number(left.1)) \(number(right.0)),\(number(right.1))\" fill=\"\(color)\"/>\n"
            case .rect where points.count >= 2:
                svg +=
                    "<rect x=\(format(min(points[0].x, points[1].x))) y=\(format(min(points[0].y, points[1].y))) width=\(format(abs(points[1].x - points[0].x))) height=\(format(abs(points[1].y - points[0].y))) \(stroke)/>\n"
            case .ellipse where points.count >= 2:
                svg +=
                    "<ellipse cx=\(format((points[0].x + points[1].x) / 2)) cy=\(format((points[0].y + points[1].y) / 2)) rx=\(format(abs(points[1].x - points[0].x) / 2)) ry=\(format(abs(points[1].y - points[0].y) / 2)) \(stroke)/>\n"
            case .text:
                let size = max(14, line * 6)
                svg +=
                    "<text x=\(format(first.x)) y=\(format(first.y)) dominant-baseline=\"hanging\" font-family=\"system-ui, sans-serif\" font-size=\(format(size)) fill=\"\(color)\" stroke=\"rgba(0,0,0,0.6)\" stroke-width=\(format(max(2, line / 2))) paint-order=\"stroke\">\(escape(shape.text ?? ""))</text>\n"
            case .pointer:
                svg += "<circle cx=\(format(first.x)) cy=\(format(first.y)) r=\(format(max(6, line * 2))) fill=\"\(color)\" fill-opacity=\"0.85\"/>\n"
            default:
                continue
            }
        }
        return svg + "</svg>\n"
    }

    /// An attribute value: `"12.5"`.
    private static func format(_ value: Double) -> String {
        "\"" + number(value) + "\""
    }

    private static func number(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
