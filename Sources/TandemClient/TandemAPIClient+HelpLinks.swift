import Foundation
import NIOHTTP1
import TandemProtocol

/// Signed help links (protocol/README.md §16.1).
extension TandemAPIClient {
    /// A link to `/help` that queues its customer with this ticket, tier and line until it expires.
    public func helpLink(_ request: HelpLinkRequest) async throws -> HelpLinkGrant {
        let body = try TandemJSON.makeEncoder().encode(request)
        return try await call(.POST, "/v1/help-links", body: body, as: HelpLinkGrant.self)
    }
}
