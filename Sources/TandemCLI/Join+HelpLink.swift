import Foundation
import TandemCore
import TandemProtocol

/// `tandem join --link URL`: the signed help link of protocol/README.md §16.1.
extension Join {
    /// The broker's base URL, the link's values and its signature; nil when `text` is not a
    /// help link (`https://host[:port]/help?ticket=…&tier=…&line=…&expires=…&sig=…`).
    static func helpLink(_ text: String) -> (server: String, link: HelpLink, signature: String)? {
        guard let components = URLComponents(string: text), let scheme = components.scheme, ["https", "http"].contains(scheme),
            let host = components.host, components.path == "/help"
        else { return nil }
        var values: [String: String] = [:]
        for item in components.queryItems ?? [] { values[item.name] = item.value }
        guard let ticket = values["ticket"], TicketID.isValid(ticket), let tier = values["tier"].flatMap(SupportTier.init(rawValue:)),
            let expires = values["expires"].flatMap({ Int($0) }), let signature = values["sig"]
        else { return nil }
        let line = values["line"] ?? SupportLine.first
        guard SupportLine.isValid(line) else { return nil }
        // URLComponents keeps an IPv6 host's brackets on some Foundations and not on others.
        let bracketed = host.hasPrefix("[") || !host.contains(":") ? host : "[\(host)]"
        let server = "\(scheme)://\(bracketed)" + (components.port.map { ":\($0)" } ?? "")
        let skills = values["skills"].map { $0.split(separator: ",").map(String.init) } ?? []
        guard Skill.isValidList(skills, max: HelpLink.maxSkills) else { return nil }
        return (server, HelpLink(ticket: ticket, tier: tier, line: line, expires: expires, skills: skills), signature)
    }
}
