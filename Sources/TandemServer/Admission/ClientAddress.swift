import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a connection comes from: its IP address (for the log) and the network join attempts
/// are counted against (protocol/README.md §3.1): an IPv4 address, or the /64 of an IPv6 one,
/// since one subscriber usually gets a whole /64. IPv4-mapped IPv6 addresses count as IPv4.
struct ClientAddress: Sendable, Equatable {
    var ip: String?
    var network: String?

    init(ip: String?, network: String?) {
        self.ip = ip
        self.network = network
    }

    init(_ address: SocketAddress?) {
        switch address {
        case .v4:
            self.init(ip: address?.ipAddress, network: address?.ipAddress)
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self.init(ip: address?.ipAddress, network: Self.network(ipv6: bytes))
        default:
            self.init(ip: nil, network: nil)
        }
    }

    /// The counting key of a 16-byte IPv6 address.
    static func network(ipv6 bytes: [UInt8]) -> String {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            return bytes[12...].map { String($0) }.joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
