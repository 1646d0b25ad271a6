import Crypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension AuditSigner {
    /// A 32-byte key for another purpose, derived from the signing key with HKDF-SHA256 and
    /// `info` (`tandem-help-link/1`, `tandem-survey/1`): brokers that share a signing key share
    /// it, nothing else has to be kept, and a new signing key changes it.
    func derivedKey(info: String) -> Data {
        let derived = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: rawRepresentation),
            info: Data(info.utf8),
            outputByteCount: 32
        )
        return derived.withUnsafeBytes { Data($0) }
    }
}
