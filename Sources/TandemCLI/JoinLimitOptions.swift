import ArgumentParser
import TandemCore

/// The join-code guessing limits of protocol/README.md §3.1 as `tandem serve` options; the
/// printed bound and its warning follow whatever is chosen.
struct JoinLimitOptions: ParsableArguments {
    @Option(help: "Wrong codes one network may try before it has to wait.")
    var joinFailuresBeforeWait: Int = JoinAttemptLimiter.Limits().failuresBeforeBackoff

    @Option(help: "Seconds of the first wait after those; each further wrong code doubles it.")
    var joinFirstWait: Double = JoinAttemptLimiter.Limits().firstBackoff

    @Option(help: "Longest wait in seconds for one network.")
    var joinMaxWait: Double = JoinAttemptLimiter.Limits().maxBackoff

    @Option(help: "Wrong codes the whole broker checks at once from the shared budget (and the newcomer reserve alike).")
    var joinBudget: Double = JoinAttemptLimiter.Limits().globalBurst

    @Option(help: "Seconds for one wrong code to come back to each broker-wide budget.")
    var joinBudgetRefillSeconds: Double = 1 / JoinAttemptLimiter.Limits().globalPerSecond

    func validate() throws {
        guard joinFailuresBeforeWait >= 1, joinFirstWait > 0, joinMaxWait >= joinFirstWait, joinBudget >= 1, joinBudgetRefillSeconds > 0 else {
            throw ValidationError("join limits must be positive, and --join-max-wait at least --join-first-wait")
        }
    }

    func apply(to limits: inout JoinAttemptLimiter.Limits) {
        limits.failuresBeforeBackoff = joinFailuresBeforeWait
        limits.firstBackoff = joinFirstWait
        limits.maxBackoff = joinMaxWait
        limits.globalBurst = joinBudget
        limits.newcomerBurst = joinBudget
        limits.globalPerSecond = 1 / joinBudgetRefillSeconds
        limits.newcomerPerSecond = 1 / joinBudgetRefillSeconds
    }
}
