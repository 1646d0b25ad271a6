import Foundation
import HTTPTypes
import Hummingbird

/// The browser clients: the customer's join page (`/j/CODE`), the agent console (`/agent`)
/// and their scripts and styles (`/web/...`), plain HTML, CSS and ES modules served with a
/// strict Content-Security-Policy.
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

    /// Loads the pages from `root`, or from the copy built into the broker.
    init(root: String?) throws {
        let folder: String
        if let root {
            folder = root
        } else if let bundled = Bundle.module.url(forResource: "Web", withExtension: nil) {
            folder = bundled.path
        } else {
            throw TandemBroker.Error(description: "the browser pages are missing from this build (no Web resources)")
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
