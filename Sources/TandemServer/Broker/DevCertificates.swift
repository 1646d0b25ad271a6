import Crypto
import Logging
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A development certificate authority and a server certificate it signed,
/// made with swift-certificates the first time `tandem serve` runs without `--cert`.
///
/// Files in `directory`: `ca.pem` (give this to clients), `ca.key.pem`, `server.pem`
/// (server certificate followed by the CA), `server.key.pem`. Keys are created `0600` (never
/// readable by others, even briefly) and the folder is `0700`.
public struct DevCertificates: Sendable {
    public var directory: String
    public var caPath: String { directory + "/ca.pem" }
    public var caKeyPath: String { directory + "/ca.key.pem" }
    public var certificatePath: String { directory + "/server.pem" }
    public var keyPath: String { directory + "/server.key.pem" }
    /// SHA-256 of the server certificate's DER, as colon-separated hex.
    public private(set) var fingerprint: String = ""
    /// SHA-256 of the CA certificate's DER, as colon-separated hex.
    public private(set) var caFingerprint: String = ""

    public init(directory: String) {
        self.directory = directory
    }

    /// Loads the certificates, creating the CA and (re)issuing the server certificate when
    /// missing, expiring within a week, or not covering every name in `hostnames`.
    public mutating func ensure(hostnames: [String], now: Date = Date(), logger: Logger) throws {
        let fileManager = FileManager.default
        try PrivateFile.makeDirectory(directory)
        // Keys saved by an older broker that others may read are tightened to 0600.
        for path in [caKeyPath, keyPath] { try? PrivateFile.restrict(path) }

        let caKey: P256.Signing.PrivateKey
        let caCertificate: Certificate
        if fileManager.fileExists(atPath: caPath), fileManager.fileExists(atPath: caKeyPath) {
            caKey = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: caKeyPath, encoding: .utf8))
            caCertificate = try Certificate(pemEncoded: try String(contentsOfFile: caPath, encoding: .utf8))
        } else {
            caKey = P256.Signing.PrivateKey()
            caCertificate = try Self.makeCA(key: caKey, now: now)
            try Self.write(caKey.pemRepresentation, to: caKeyPath, secret: true)
            try Self.write(try caCertificate.serializeAsPEM().pemString, to: caPath, secret: false)
            logger.info("Created development CA", metadata: ["tandem.cert.path": "\(caPath)"])
        }

        let names = Set(hostnames + ["localhost", "127.0.0.1", "::1"])
        if let chain = try? String(contentsOfFile: certificatePath, encoding: .utf8),
            let leaf = chain.components(separatedBy: "-----END CERTIFICATE-----").first,
            let existing = try? Certificate(pemEncoded: leaf + "-----END CERTIFICATE-----\n"),
            fileManager.fileExists(atPath: keyPath),
            existing.issuer == caCertificate.subject,
            existing.notValidAfter > now.addingTimeInterval(7 * 24 * 3600),
            Self.covers(existing, names: names)
        {
            fingerprint = try Self.fingerprint(of: existing)
        } else {
            let key = P256.Signing.PrivateKey()
            let certificate = try Self.makeServerCertificate(key: key, names: names, ca: caCertificate, caKey: caKey, now: now)
            try Self.write(key.pemRepresentation, to: keyPath, secret: true)
            let chain = try certificate.serializeAsPEM().pemString + "\n" + caCertificate.serializeAsPEM().pemString + "\n"
            try Self.write(chain, to: certificatePath, secret: false)
            fingerprint = try Self.fingerprint(of: certificate)
            logger.info("Issued development server certificate", metadata: ["tandem.cert.path": "\(certificatePath)"])
        }
        caFingerprint = try Self.fingerprint(of: caCertificate)
    }

    /// Colon-separated uppercase hex SHA-256 of a certificate's DER encoding.
    public static func fingerprint(of certificate: Certificate) throws -> String {
        let der = try certificate.serializeAsPEM().derBytes
        return SHA256.hash(data: der).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    static func makeCA(key: P256.Signing.PrivateKey, now: Date) throws -> Certificate {
        let name = try DistinguishedName {
            OrganizationName("Tandem development")
            CommonName("Tandem Dev CA")
        }
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(5 * 365 * 24 * 3600),
            issuer: name,
            subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(key.publicKey))
            },
            issuerPrivateKey: .init(key)
        )
    }

    static func makeServerCertificate(
        key: P256.Signing.PrivateKey,
        names: Set<String>,
        ca: Certificate,
        caKey: P256.Signing.PrivateKey,
        now: Date
    ) throws -> Certificate {
        let subject = try DistinguishedName {
            OrganizationName("Tandem development")
            CommonName("localhost")
        }
        let alternativeNames = names.sorted().map { name -> GeneralName in
            if let bytes = Self.ipAddressBytes(name) {
                return .ipAddress(.init(contentBytes: bytes[...]))
            }
            return .dnsName(name)
        }
        return try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(397 * 24 * 3600),
            issuer: ca.subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
                AuthorityKeyIdentifier(keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: .init(caKey)
        )
    }

    static func covers(_ certificate: Certificate, names: Set<String>) -> Bool {
        guard let sans = try? certificate.extensions.subjectAlternativeNames else { return false }
        var covered = Set<String>()
        for san in sans {
            switch san {
            case .dnsName(let name): covered.insert(name)
            case .ipAddress(let bytes):
                if let name = names.first(where: { Self.ipAddressBytes($0).map(Array.init) == Array(bytes.bytes) }) {
                    covered.insert(name)
                }
            default: break
            }
        }
        return names.isSubset(of: covered)
    }

    /// The bytes of an IPv4 or IPv6 literal, or nil for a DNS name.
    static func ipAddressBytes(_ name: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, name, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, name, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Keys (`secret`) are created 0600 from the start, certificates (public) 0644, whatever
    /// the umask; each is renamed into place once on disk.
    static func write(_ text: String, to path: String, secret: Bool) throws {
        try PrivateFile.write(Data(text.utf8), to: path, permissions: secret ? 0o600 : 0o644)
    }
}
