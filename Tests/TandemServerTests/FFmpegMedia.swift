import Foundation
import NIOCore
import Testing

/// Real Opus packets and H.264 access units made by ffmpeg, and what ffprobe and ffmpeg make
/// of the files written from them. ffmpeg comes from Debian (scripts/test.sh installs it).
enum FFmpegMedia {
    /// What ffprobe tells of a file's first stream.
    struct Probe {
        var codec: String
        var width: Int?
        var height: Int?
        var channels: Int?
        var sampleRate: Int?
        /// With `-count_packets`.
        var packets: Int?
        /// With `-count_frames` (decoded).
        var frames: Int?
        /// Seconds (the container's duration; raw H.264 has none).
        var duration: Double?
    }

    /// Whether ffmpeg and ffprobe run here. When they do not, the test fails saying so (rather
    /// than passing without having checked anything) and should return.
    static func available() async -> Bool {
        let ffmpeg = try? await ChildProcess.run(["ffmpeg", "-version"])
        let ffprobe = try? await ChildProcess.run(["ffprobe", "-version"])
        guard ffmpeg?.status == 0, ffprobe?.status == 0 else {
            Issue.record("this test needs ffmpeg and ffprobe, which are not installed: apt-get install ffmpeg (scripts/test.sh does)")
            return false
        }
        return true
    }

    /// `seconds` of a 440 Hz tone that libopus encodes in 20 ms packets, as ffmpeg's Ogg Opus file.
    static func opusFile(seconds: Int = 2, channels: Int = 1) async throws -> Data {
        let path = NSTemporaryDirectory() + "tandem-tone-\(UUID().uuidString).ogg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let child = try await ChildProcess.run([
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=\(seconds)", "-ac", String(channels),
            "-c:a", "libopus", "-b:a", "24k", "-frame_duration", "20", "-f", "ogg", path,
        ])
        guard child.status == 0, let data = FileManager.default.contents(atPath: path) else {
            throw TestFailure("ffmpeg (libopus) failed: \(String(decoding: child.stderr, as: UTF8.self))")
        }
        return data
    }

    /// The Opus packets of ``opusFile(seconds:channels:)``.
    static func opusPackets(seconds: Int = 2, channels: Int = 1) async throws -> [ByteBuffer] {
        try OggPageReader.opusPackets(try await opusFile(seconds: seconds, channels: channels))
    }

    /// `frames` frames of ffmpeg's moving test picture, 320 × 240 at 15 fps, H.264 with an IDR
    /// frame every 10 and an access unit delimiter opening each access unit: split at those
    /// delimiters (start code 00 00 00 01, NAL type 9), the access units as a WebCodecs
    /// encoder in Annex-B mode gives them.
    static func h264AccessUnits(frames: Int = 30) async throws -> [ByteBuffer] {
        let path = NSTemporaryDirectory() + "tandem-clip-\(UUID().uuidString).h264"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let child = try await ChildProcess.run([
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-frames:v", String(frames), "-g", "10", "-bf", "0",
            "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "aud=1", "-f", "h264", path,
        ])
        guard child.status == 0, let data = FileManager.default.contents(atPath: path) else {
            throw TestFailure("ffmpeg (libx264) failed: \(String(decoding: child.stderr, as: UTF8.self))")
        }
        let bytes = [UInt8](data)
        var starts: [Int] = []
        var index = 0
        while index + 4 < bytes.count {
            if bytes[index] == 0, bytes[index + 1] == 0, bytes[index + 2] == 0, bytes[index + 3] == 1, bytes[index + 4] & 0x1F == 9 {
                starts.append(index)
                index += 5
            } else {
                index += 1
            }
        }
        guard starts.first == 0 else { throw TestFailure("ffmpeg's H.264 does not open with an access unit delimiter") }
        let ends = Array(starts.dropFirst()) + [bytes.count]
        return zip(starts, ends).map { ByteBuffer(bytes: bytes[$0..<$1]) }
    }

    /// ffprobe's view of `path`'s first stream: packets counted (`countFrames`: frames decoded).
    static func probe(_ path: String, countFrames: Bool = false) async throws -> Probe {
        let child = try await ChildProcess.run([
            "ffprobe", "-v", "error", countFrames ? "-count_frames" : "-count_packets", "-show_entries",
            "stream=codec_name,width,height,channels,sample_rate,nb_read_packets,nb_read_frames:format=duration", "-of", "json", path,
        ])
        guard child.status == 0 else { throw TestFailure("ffprobe \(path) failed: \(String(decoding: child.stderr, as: UTF8.self))") }
        let json = try JSONSerialization.jsonObject(with: child.stdout) as? [String: Any]
        guard let stream = (json?["streams"] as? [[String: Any]])?.first, let codec = stream["codec_name"] as? String else {
            throw TestFailure("ffprobe found no stream in \(path): \(String(decoding: child.stdout, as: UTF8.self))")
        }
        // ffprobe gives some numbers as JSON numbers and others as strings.
        func number(_ value: Any?) -> Double? { value.flatMap { Double("\($0)") } }
        let format = json?["format"] as? [String: Any]
        return Probe(
            codec: codec,
            width: number(stream["width"]).map { Int($0) },
            height: number(stream["height"]).map { Int($0) },
            channels: number(stream["channels"]).map { Int($0) },
            sampleRate: number(stream["sample_rate"]).map { Int($0) },
            packets: number(stream["nb_read_packets"]).map { Int($0) },
            frames: number(stream["nb_read_frames"]).map { Int($0) },
            duration: number(format?["duration"])
        )
    }

    /// What ffmpeg says when it decodes all of `path` (`-v error`): nil when it decodes without
    /// a word, else its exit status and errors.
    static func decodingErrors(_ path: String) async throws -> String? {
        let child = try await ChildProcess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"])
        let errors = String(decoding: child.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard child.status == 0, errors.isEmpty else { return "exit \(child.status): \(errors)" }
        return nil
    }
}
