#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Audit times as whole milliseconds since the Unix epoch: what event hashes and checkpoint
/// signatures cover, what the database stores and what `atMs` carries
/// (see [protocol/README.md § Audit log](../../protocol/README.md#112-hash-chain-and-verification)).
extension Date {
    /// Rounded to the nearest millisecond.
    public var epochMilliseconds: Int64 {
        Int64((timeIntervalSince1970 * 1000).rounded())
    }

    public init(epochMilliseconds: Int64) {
        self.init(timeIntervalSince1970: Double(epochMilliseconds) / 1000)
    }
}
