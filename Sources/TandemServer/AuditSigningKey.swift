import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The broker's Ed25519 key for audit checkpoints: made on first start under the data
/// directory (`audit-signing.key`, mode 0600), with its public key next to it as PEM
/// (`audit-signing.pub.pem`) for auditors.
public struct AuditSigningKey: Sendable {
    public let signer: AuditSigner
    public let privateKeyPath: String
    public let publicKeyPath: String

    public var publicKey: AuditPublicKey { signer.publicKey }

    /// Loads the key from `directory`, or makes and saves one.
    public static func loadOrCreate(directory: String, logger: Logger) throws -> AuditSigningKey {
        let privatePath = directory + "/audit-signing.key"
        let publicPath = directory + "/audit-signing.pub.pem"
        let manager = FileManager.default
        let signer: AuditSigner
        if let data = manager.contents(atPath: privatePath) {
            let text = String(String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace })
            guard let raw = Data(base64Encoded: text), let loaded = try? AuditSigner(rawRepresentation: raw) else {
                throw TandemBroker.Error(description: "\(privatePath) is not a Tandem audit signing key (base64 of 32 bytes)")
            }
            signer = loaded
        } else {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            signer = AuditSigner()
            // Written under a temporary name (private from the start), then renamed: a crash
            // never leaves a half-written key behind.
            let temporary = privatePath + ".new"
            try? manager.removeItem(atPath: temporary)
            guard manager.createFile(
                atPath: temporary, contents: Data((signer.rawRepresentation.base64EncodedString() + "\n").utf8),
                attributes: [.posixPermissions: 0o600]
            ) else {
                throw TandemBroker.Error(description: "cannot write the audit signing key to \(privatePath)")
            }
            try manager.moveItem(atPath: temporary, toPath: privatePath)
            logger.notice("Made a new audit signing key", metadata: ["tandem.audit.key": "\(signer.publicKey.fingerprint)"])
        }
        let pem = Data(signer.publicKey.pem.utf8)
        if manager.contents(atPath: publicPath) != pem {
            _ = manager.createFile(atPath: publicPath, contents: pem)
        }
        return AuditSigningKey(signer: signer, privateKeyPath: privatePath, publicKeyPath: publicPath)
    }
}
