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
    /// The last checkpoint this key signed, kept next to it (§11.7).
    public let head: AuditHeadFile

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
            // A key saved by an older broker (or copied in) that others may read is tightened.
            try? PrivateFile.restrict(privatePath)
        } else {
            try PrivateFile.makeDirectory(directory)
            signer = AuditSigner()
            // Created 0600 under a temporary name, written, flushed, then renamed: the key is
            // never readable by others, and a crash never leaves a half-written key behind.
            do {
                try PrivateFile.write(Data((signer.rawRepresentation.base64EncodedString() + "\n").utf8), to: privatePath)
            } catch {
                throw TandemBroker.Error(description: "cannot write the audit signing key to \(privatePath): \(error)")
            }
            logger.notice("Made a new audit signing key", metadata: ["tandem.audit.key": "\(signer.publicKey.fingerprint)"])
        }
        let pem = Data(signer.publicKey.pem.utf8)
        if manager.contents(atPath: publicPath) != pem {
            try? PrivateFile.write(pem, to: publicPath, permissions: 0o644)
        }
        return AuditSigningKey(signer: signer, privateKeyPath: privatePath, publicKeyPath: publicPath, head: AuditHeadFile(directory: directory))
    }
}
