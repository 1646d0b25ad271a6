import Foundation

extension LiveBroker {
    /// Starts `tandem replay SESSION --out DIR` as `token` against this broker (a fresh DIR
    /// under the broker's directory unless `out` is given); returns the process and DIR.
    func startReplay(_ sessionID: String, token: String, out: String? = nil) throws -> (process: CLIProcess, out: String) {
        let out = out ?? directory + "/replay-\(UUID().uuidString)"
        let process = try CLIProcess.start(
            ["replay", sessionID, "--out", out, "--server", "https://127.0.0.1:\(port)", "--ca", caFile],
            token: token,
            in: directory
        )
        return (process, out)
    }
}
