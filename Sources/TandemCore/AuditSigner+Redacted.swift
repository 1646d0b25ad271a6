extension AuditSigner: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Names the key by its public fingerprint; the private bytes never show, not even
    /// through reflection (the service lifecycle prints its services at debug).
    public var description: String { "AuditSigner(\(publicKey.fingerprint))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey.fingerprint], displayStyle: .struct) }
}
