import Foundation
import TandemProtocol
import Testing

/// protocol/vectors/anchors.json (§5.15): where an anchored shape is drawn, from the
/// independent Python encoder; the browser's overlay.js checks the same file.
@Suite("Anchored shapes are drawn where protocol/vectors/anchors.json says")
struct AnchorVectorTests {
    struct Case: Decodable {
        struct Current: Decodable {
            var epoch: UInt32
            var state: Track.State
            var m: [Double]
        }

        var name: String
        var anchor: ShapeAnchor
        var track: Current?
        var points: [[Double]]
        var drawn: [[Double]]
        var state: String
    }

    struct File: Decodable {
        var cases: [Case]
        var tolerance: Double
    }

    @Test("every case of anchors.json")
    func vectors() throws {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: Vectors.directory.appendingPathComponent("anchors.json")))
        #expect(file.cases.count >= 7)
        for vector in file.cases {
            let shape = Shape(id: "a", kind: .stroke, points: vector.points, anchor: vector.anchor)
            let track = vector.track.map { Track(streamID: 1, sequence: 1, epoch: $0.epoch, state: $0.state, m: $0.m) }
            let (points, lost) = shape.drawnPoints(on: track)
            #expect(points.count == vector.drawn.count, "\(vector.name)")
            for (point, expected) in zip(points, vector.drawn) {
                #expect(abs(point[0] - expected[0]) <= file.tolerance && abs(point[1] - expected[1]) <= file.tolerance, "\(vector.name)")
            }
            switch vector.state {
            case "lost": #expect(lost, "\(vector.name)")
            case "tracking": #expect(!lost, "\(vector.name)")
            default: #expect(points == vector.points, "\(vector.name): drawn where it was drawn")
            }
        }
    }

    @Test("a map and its inverse cancel out; invalid maps are refused")
    func transforms() {
        let m = [1.05, -0.1, 0.02, 0.3, 0.98, -0.04]
        let back = SceneTransform.apply(SceneTransform.inverse(m), to: SceneTransform.apply(m, to: [0.3, 0.7]))
        #expect(abs(back[0] - 0.3) < 1e-12 && abs(back[1] - 0.7) < 1e-12)
        #expect(SceneTransform.isValid(SceneTransform.identity))
        #expect(!SceneTransform.isValid([1, 0, 0, 0, 1]))
        #expect(!SceneTransform.isValid([1, 0, .nan, 0, 1, 0]))
        #expect(!SceneTransform.isValid([1, 0, 101, 0, 1, 0]))
        #expect(!SceneTransform.isValid([1, 2, 0, 0.5, 1, 0]))
    }
}
