/// The duration of an Opus packet, from its first byte (the TOC byte, RFC 6716 §3.1) and,
/// for a code 3 packet, its frame count byte; durations are samples per channel at 48 kHz,
/// the rate of Ogg Opus granule positions (RFC 7845 §4) whatever the input rate was.
public enum OpusPacket {
    /// The longest packet: 120 ms.
    public static let maximumSamples = 5760

    /// Samples at 48 kHz of one frame of a packet whose TOC byte is `toc`. The TOC's top five
    /// bits are the configuration number, which sets the mode, bandwidth and frame size:
    /// 0–11 SILK-only (NB, MB, WB) 10/20/40/60 ms, 12–15 hybrid (SWB, FB) 10/20 ms, 16–31
    /// CELT-only (NB, WB, SWB, FB) 2.5/5/10/20 ms.
    public static func frameSamples(toc: UInt8) -> Int {
        let configuration = Int(toc >> 3)
        switch configuration {
        case 0..<12: return [480, 960, 1920, 2880][configuration % 4]
        case 12..<16: return [480, 960][configuration % 2]
        default: return [120, 240, 480, 960][configuration % 4]
        }
    }

    /// The number of frames in `packet`: code 0 (the TOC's low two bits) one, codes 1 and 2
    /// two, code 3 the low six bits of the second byte; nil for an empty packet or a code 3
    /// packet without its count byte or with a count of 0.
    public static func frameCount(_ packet: some Collection<UInt8>) -> Int? {
        guard let toc = packet.first else { return nil }
        switch toc & 0x03 {
        case 0: return 1
        case 1, 2: return 2
        default:
            guard let count = packet.dropFirst().first.map({ Int($0 & 0x3F) }), count > 0 else { return nil }
            return count
        }
    }

    /// The duration of `packet` in samples at 48 kHz (960 for a 20 ms packet), or nil when it
    /// is not an Opus packet: empty, a code 3 packet without a valid frame count, or longer
    /// than 120 ms.
    public static func samples(_ packet: some Collection<UInt8>) -> Int? {
        guard let toc = packet.first, let count = frameCount(packet) else { return nil }
        let samples = frameSamples(toc: toc) * count
        return samples <= maximumSamples ? samples : nil
    }
}
