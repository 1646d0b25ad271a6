import Crypto
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs audit checkpoints with the broker's Ed25519 key and checks signatures.
public struct AuditSigner: Sendable {
    /// The 32 raw bytes of the private key (the CryptoKit type is not `Sendable`).
    public let rawRepresentation: Data

    private var key: Curve25519.Signing.PrivateKey {
        // Checked in init: cannot fail.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation)
    }

    /// A new random key.
    public init() {
        self.rawRepresentation = Curve25519.Signing.PrivateKey().rawRepresentation
    }

    /// The key from its 32 raw bytes.
    public init(rawRepresentation: Data) throws {
        self.rawRepresentation = try Curve25519.Signing.PrivateKey(rawRepresentation: rawRepresentation).rawRepresentation
    }

    public var publicKey: AuditPublicKey { Self.describe(key.publicKey.rawRepresentation) }

    /// Fills in `publicKey` and `signature`.
    public func sign(_ checkpoint: AuditCheckpoint) throws -> AuditCheckpoint {
        var signed = checkpoint
        // The signed text names the key: set it first.
        signed.publicKey = publicKeyBase64
        signed.signature = try signature(over: signed.signedText)
        return signed
    }

    /// Whether `checkpoint` carries a valid signature by the key `publicKey` (base64 raw).
    public static func isValid(_ checkpoint: AuditCheckpoint, publicKey: String) -> Bool {
        isValid(signature: checkpoint.signature, by: checkpoint.publicKey, over: checkpoint.signedText, expectedKey: publicKey)
    }

    /// The public key as checkpoints and tree heads carry it: base64 of the raw key.
    var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    /// Base64 of this key's signature over `text`.
    func signature(over text: String) throws -> String {
        try key.signature(for: Data(text.utf8)).base64EncodedString()
    }

    /// Whether `signature` (base64) is a valid signature over `text` by `signer` (base64 raw),
    /// and `signer` is `expectedKey`.
    static func isValid(signature: String, by signer: String, over text: String, expectedKey: String) -> Bool {
        guard signer == expectedKey,
            let raw = Data(base64Encoded: signer),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw),
            let signature = Data(base64Encoded: signature)
        else { return false }
        return key.isValidSignature(signature, for: Data(text.utf8))
    }

    /// What precedes the 32 key bytes in an Ed25519 SubjectPublicKeyInfo (RFC 8410).
    public static let ed25519KeyInfoPrefix = Data([0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00])

    /// Raw key → base64, SubjectPublicKeyInfo PEM and fingerprint.
    public static func describe(_ raw: Data) -> AuditPublicKey {
        // SubjectPublicKeyInfo for Ed25519 (RFC 8410): a fixed 12-byte prefix and the key.
        let spki = ed25519KeyInfoPrefix + raw
        let pem = "-----BEGIN PUBLIC KEY-----\n" + spki.base64EncodedString() + "\n-----END PUBLIC KEY-----\n"
        let fingerprint = "SHA256:" + APIToken.sha256Hex(bytes: raw)
        return AuditPublicKey(raw: raw.base64EncodedString(), pem: pem, fingerprint: fingerprint)
    }
}
