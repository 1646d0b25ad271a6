import Hummingbird
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signed help links over HTTPS (protocol/README.md §16.1).
extension BrokerAPI {
    /// `POST /v1/help-links` with `{"ticket", "tier", "line"?, "expiresInSeconds"?}`: a link to
    /// `/help` that queues its customer with this ticket, tier and line until it expires.
    /// Agents and admins (a helpdesk calls it with such a token).
    func helpLink(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canStartSessions else { throw APIError.forbidden("role \(user.role.rawValue) cannot issue help links") }
        let asked = try await decodeBody(
            HelpLinkRequest.self,
            of: request,
            upTo: 16 << 10,
            shape:
                "{\"ticket\": \"HD-1042\", \"tier\": \"basic|standard|premium\", \"line\": \"line1\", \"expiresInSeconds\": 86400, \"skills\": [\"router\"]}"
        )
        guard TicketID.isValid(asked.ticket) else { throw APIError.badRequest("ticket must be 1-64 printable characters without spaces") }
        let line = asked.line ?? SupportLine.first
        guard SupportLine.isValid(line) else { throw APIError.badRequest("line must be 1-32 characters of a-z, 0-9 and -, like line1") }
        let configuration = hub.configuration
        let longest = Int(configuration.maxHelpLinkLifetime.seconds)
        let lifetime = asked.expiresInSeconds ?? Int(configuration.defaultHelpLinkLifetime.seconds)
        guard (1...longest).contains(lifetime) else { throw APIError.badRequest("expiresInSeconds must be 1-\(longest)") }
        let skills = asked.skills ?? []
        guard Skill.isValidList(skills, max: HelpLink.maxSkills) else {
            throw APIError.badRequest("skills must be at most \(HelpLink.maxSkills) different names of 1-32 characters of a-z, 0-9 and -")
        }
        let expires = Int(Date().timeIntervalSince1970) + lifetime
        let link = HelpLink(ticket: asked.ticket, tier: asked.tier, line: line, expires: expires, skills: skills)
        let signature = hub.helpLinks.signature(for: link)
        let base = await hub.joinBaseURL
        return try json(
            HelpLinkGrant(
                url: base + "/help?" + link.query(signature: signature),
                ticket: link.ticket,
                tier: link.tier,
                line: link.line,
                expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)),
                skills: skills.isEmpty ? nil : skills
            )
        )
    }
}
