import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signed tree heads (protocol/README.md §11.8), with the checkpoints' key.
extension AuditSigner {
    /// Fills in `publicKey` and `signature` of `head`.
    public func sign(_ head: TreeHead) throws -> TreeHead {
        var signed = head
        signed.publicKey = publicKeyBase64
        signed.signature = try signature(over: signed.signedText)
        return signed
    }

    /// Fills in `signature` of an evidence bundle's manifest (§11.9).
    public func sign(_ manifest: EvidenceManifest) throws -> EvidenceManifest {
        var signed = manifest
        signed.signature = try signature(over: signed.signedText)
        return signed
    }

    /// Whether `head` carries a valid signature by the key `publicKey` (base64 raw).
    public static func isValid(_ head: TreeHead, publicKey: String) -> Bool {
        isValid(signature: head.signature, by: head.publicKey, over: head.signedText, expectedKey: publicKey)
    }
}

extension MerkleTree {
    /// The leaf hash of an audit event: its chain hash (hex, §11.2) as the leaf's 32 bytes.
    public static func leafHash(eventHash hex: String) -> Hash? {
        guard hex.utf8.count == 64, let bytes = bytes(hex: hex) else { return nil }
        return leafHash(bytes)
    }

    /// The bytes of lower-case hex (`0-9a-f` only), or nil.
    public static func bytes(hex: String) -> Hash? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var bytes: Hash = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
