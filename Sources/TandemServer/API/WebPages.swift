import Foundation
import HTTPTypes
import Hummingbird

/// The browser clients: the customer's join page (`/j/CODE`), the agent console (`/agent`),
/// the support floor (`/floor`), the auditors' review (`/audit`) and their scripts and styles
/// (`/web/...`), plain HTML, CSS and ES modules served with a strict Content-Security-Policy.
struct WebPages: Sendable {
    /// Scripts and styles from this origin only; frames, images and media from the page's own
    /// canvases; WebSocket and fetch to this origin; no framing, no forms elsewhere.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:", "connect-src 'self'", "base-uri 'none'", "form-action 'none'",
        "frame-ancestors 'none'",
    ].joined(separator: "; ")

    let root: String
    let customerPage: ByteBuffer
    let agentPage: ByteBuffer
    let replayPage: ByteBuffer
    /// The admins' live view of the floor (protocol/README.md §20.6).
    let floorPage: ByteBuffer
    /// The auditors' review of the log (protocol/README.md §12).
    let auditPage: ByteBuffer

    /// Loads the pages from `root`, or from where an installed or built broker keeps them
    /// (``installedRoot(executable:)``).
    init(root: String?) throws {
        guard let folder = root ?? Self.installedRoot() else {
            throw TandemBroker.Error(
                description:
                    "the browser pages are missing: install the broker with scripts/install.sh PREFIX (pages in PREFIX/share/tandem/Web), or keep the tandem_TandemServer.resources folder next to the binary"
            )
        }
        func load(_ name: String) throws -> ByteBuffer {
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else {
                throw TandemBroker.Error(description: "the browser page \(folder)/\(name) is missing")
            }
            return ByteBuffer(bytes: data)
        }
        self.root = folder
        self.customerPage = try load("customer.html")
        self.agentPage = try load("agent.html")
        self.replayPage = try load("replay.html")
        self.floorPage = try load("floor.html")
        self.auditPage = try load("audit.html")
    }

    /// Where the pages are for the running executable: PREFIX/share/tandem/Web for one installed
    /// in PREFIX/bin (scripts/install.sh), else SwiftPM's resource folder next to it (a build
    /// folder, or a binary copied with that folder), else /usr/local/share/tandem/Web and
    /// /usr/share/tandem/Web. Never the path the binary was built at: SwiftPM's `Bundle.module`
    /// looks there, and stops the process when it is gone.
    static func installedRoot(executable: URL? = Bundle.main.executableURL) -> String? {
        var candidates: [String] = []
        if let folder = executable?.resolvingSymlinksInPath().deletingLastPathComponent() {
            candidates.append(folder.deletingLastPathComponent().appendingPathComponent("share/tandem/Web").path)
            candidates.append(folder.appendingPathComponent("tandem_TandemServer.resources/Web").path)
        }
        candidates += ["/usr/local/share/tandem/Web", "/usr/share/tandem/Web"]
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/customer.html") }
    }

    /// Serves `/web/...` from the folder.
    func assets<Context: RequestContext>(context: Context.Type) -> FileMiddleware<Context, LocalFileSystem> {
        FileMiddleware(root, urlBasePath: "/web", cacheControl: .init([(MediaType(type: .any), [.noCache])]))
    }

    static func page(_ body: ByteBuffer, camera: Bool) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy: contentSecurityPolicy,
                .cacheControl: "no-store",
                HTTPField.Name("Referrer-Policy")!: "no-referrer",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                HTTPField.Name("Permissions-Policy")!: camera
                    ? "camera=(self), display-capture=(self), microphone=(self), geolocation=()"
                    : "camera=(), display-capture=(), microphone=(), geolocation=()",
            ],
            body: .init(byteBuffer: body)
        )
    }
}
