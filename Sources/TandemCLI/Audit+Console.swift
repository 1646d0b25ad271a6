import ArgumentParser
import Foundation
import TandemClient
import TandemProtocol

extension Audit {
    /// `tandem audit console`: the sign-in link of the auditors' review page `/audit`
    /// (protocol/README.md §12): a console token, which the page uses to read the API.
    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "console",
            abstract: "Print a sign-in link to the audit review in the browser (/audit; auditors and admins).",
            discussion: """
                The page lists the sessions with filters, shows their timelines, plays recordings, downloads evidence bundles and \
                says whether the log verifies. The link signs you in for --lifetime; do not share it.
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var tokenOptions: TokenOptions
        @Option(help: "How long the sign-in lasts: seconds, or with a unit (90m, 8h); 1 minute to 12 hours.")
        var lifetime: DurationArgument = DurationArgument(seconds: 8 * 3600)

        func validate() throws {
            guard (60...43_200).contains(lifetime.seconds) else { throw ValidationError("--lifetime must be between 1 minute and 12 hours") }
        }

        func run() async throws {
            let grant = try await withAPI(connection, tokenOptions, refusal: "audit sign-in refused") {
                try await $0.consoleToken(lifetime: lifetime.seconds)
            }
            // An auditor's link opens /audit already; an admin's the console: the same base, the review's path.
            let url = grant.url.replacingOccurrences(of: "/agent#token=", with: "/audit#token=")
            say("Open the audit review (the link signs you in until \(Formatting.timestamp(grant.expiresAt)); do not share it):")
            say(url)
        }
    }
}
