import Foundation

/// The shared test vectors in `protocol/vectors/`, read from the repository.
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("protocol/vectors")

    struct FrameVector: Decodable, CustomTestStringConvertibleShim {
        var name: String
        var hex: String
        var canonicalHex: String?
        var codec: String?
        var keyframe: Bool?
        var streamId: UInt16?
        var sequence: UInt32?
        var timestampMicros: UInt64?
        var payloadHex: String?
        var error: String?
    }

    struct FrameVectors: Decodable {
        var valid: [FrameVector]
        var extendedHeader: [FrameVector]
        var invalid: [FrameVector]
    }

    struct ControlVector: Decodable, CustomTestStringConvertibleShim {
        var name: String
        var json: String
        var error: String?
    }

    struct ControlVectors: Decodable {
        var valid: [ControlVector]
        var invalid: [ControlVector]
    }

    static func frames() throws -> FrameVectors {
        try JSONDecoder().decode(FrameVectors.self, from: Data(contentsOf: directory.appendingPathComponent("frames.json")))
    }

    static func control() throws -> ControlVectors {
        try JSONDecoder().decode(ControlVectors.self, from: Data(contentsOf: directory.appendingPathComponent("control.json")))
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }
}

protocol CustomTestStringConvertibleShim: CustomStringConvertible {
    var name: String { get }
}

extension CustomTestStringConvertibleShim {
    var description: String { name }
}
