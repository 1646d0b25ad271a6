import Logging
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A customer's join with a code, or with the key of the code's link (protocol/README.md
/// §3.1), under the guessing limits.
extension SessionHub {
    enum JoinResult: Sendable {
        /// Joined; the welcome and the catch-up are queued for the customer.
        case joined(LiveSession)
        case rejected(TandemCloseCode)
        /// The code belongs to a session on the broker at this URL (§14).
        case elsewhere(String)
        /// Too many failed joins lately (§3.1): not checked at all; try again after this many seconds.
        case throttled(retryAfter: Int, scope: JoinAttemptLimiter.Scope)
    }

    /// Redeems a join code (canonical digits; nil when malformed) for a customer whose
    /// address is `address` and whose network, for guessing limits, is `network`. With the
    /// key of the code's link (§3.1) the join spends no guessing budget and waits for no
    /// back-off; a key that does not match changes nothing (the code is then checked as if
    /// typed).
    func join(
        code: String?,
        key: String? = nil,
        client: String?,
        address: String?,
        network: String?,
        customerOutbox: ParticipantOutbox
    ) async throws -> JoinResult {
        let now = Date()
        if let code, let key {
            if let sessionID = codes.redeemLink(code, key: key, now: now) {
                return try await seatCustomer(
                    sessionID: sessionID,
                    pool: nil,
                    client: client,
                    address: address,
                    network: network,
                    outbox: customerOutbox,
                    now: now
                )
            }
            // The link of a session on another broker (§14): published with its key, so finding
            // it needs the key, and sending the customer on costs no budget.
            if let registry,
                let url = try await registry.broker(
                    holdingCodeHash: JoinCodeRegistry.hash(code, key: key),
                    aliveSince: now.addingTimeInterval(-configuration.brokerLostAfter.seconds),
                    now: now
                )
            {
                logger.info("Join link held by another broker", metadata: ["tandem.broker.url": "\(url)"])
                return .elsewhere(url)
            }
        }
        let tick = limiterNow
        let pool: JoinAttemptLimiter.Pool
        switch guesses.check(network: network, now: tick) {
        case .refuse(let retryAfter, let scope):
            metrics.joinFailed(.throttled)
            return .throttled(retryAfter: max(1, Int(retryAfter.rounded(.up))), scope: scope)
        case .allow(let paidFrom):
            pool = paidFrom
        }
        let redemption = code.map { codes.redeem($0, now: now) } ?? .reject(.unknownCode, sessionID: nil)
        if case .reject(.unknownCode, _) = redemption, let code, let registry,
            let url = try await registry.broker(
                holdingCodeHash: JoinCodeRegistry.hash(code),
                aliveSince: now.addingTimeInterval(-configuration.brokerLostAfter.seconds),
                now: now
            )
        {
            // Not a wrong code: the check's token goes back.
            guesses.refund(pool, now: limiterNow)
            logger.info("Join code held by another broker", metadata: ["tandem.broker.url": "\(url)"])
            return .elsewhere(url)
        }
        switch redemption {
        case .reject(let closeCode, let sessionID):
            let counted = guesses.failed(network: network, now: tick)
            logger.info("Join refused", metadata: ["tandem.close.code": "\(closeCode.rawValue)"])
            metrics.joinFailed(closeCode == .codeUsed ? .codeUsed : closeCode == .codeExpired ? .codeExpired : .unknownCode)
            // Logged without the code that was tried; a used or expired code's attempt goes
            // on its session's timeline (§11).
            try await recordJoinFailure(sessionID: sessionID, closeCode: closeCode, address: address, counted: counted, at: now)
            return .rejected(closeCode)
        case .admit(let sessionID):
            return try await seatCustomer(
                sessionID: sessionID,
                pool: pool,
                client: client,
                address: address,
                network: network,
                outbox: customerOutbox,
                now: now
            )
        }
    }

    /// Lets the customer into the session its code (or link) was redeemed for. `pool` is the
    /// guessing budget the check was paid from (nil for a link), given back unless the join
    /// is refused as a failure.
    private func seatCustomer(
        sessionID: String,
        pool: JoinAttemptLimiter.Pool?,
        client: String?,
        address: String?,
        network: String?,
        outbox: ParticipantOutbox,
        now: Date
    ) async throws -> JoinResult {
        guard let session = sessions[sessionID] else {
            if let pool { guesses.refund(pool, now: limiterNow) }
            return .rejected(.codeExpired)
        }
        switch session.admit(at: now) {
        case .admit:
            guesses.succeeded(network: network, pool: pool, now: limiterNow)
            await withdrawPublishedCode(sessionID: sessionID)
            try await store.recordCustomerJoined(sessionID: sessionID, at: now, client: client, address: address)
            traces.record(.customerJoined, sessionID: sessionID)
            welcomeCustomer(session, outbox: outbox, client: client, now: now)
            logger.info("Customer joined", metadata: ["tandem.session.id": "\(sessionID)", "tandem.ticket": "\(session.ticket)"])
            return .joined(session)
        case .reject(let closeCode):
            // A typed code's check counts as a failure; a link's costs nothing.
            let counted: JoinAttemptLimiter.FailureResult = pool == nil ? .counted(failures: 0) : guesses.failed(network: network, now: limiterNow)
            metrics.joinFailed(closeCode == .codeUsed ? .codeUsed : .codeExpired)
            // The code belonged to this session: the failed attempt goes on its timeline.
            try await recordJoinFailure(sessionID: sessionID, closeCode: closeCode, address: address, counted: counted, at: now)
            return .rejected(closeCode)
        }
    }

    /// Writes `join.failed` (never with the code tried) and, when this failure started a
    /// wait, `join.throttled` with its scope and length.
    private func recordJoinFailure(
        sessionID: String?,
        closeCode: TandemCloseCode,
        address: String?,
        counted: JoinAttemptLimiter.FailureResult,
        at now: Date
    ) async throws {
        var detail = ["closeCode": String(closeCode.rawValue), "reason": closeCode.reason]
        if let address { detail["address"] = address }
        try await store.recordEvent(sessionID: sessionID, kind: .joinFailed, actor: "customer", detail: detail, at: now)
        guard case .backoffStarted(let scope, let failures, let seconds) = counted else { return }
        var throttled = ["scope": scope.rawValue, "seconds": String(Int(seconds.rounded(.up)))]
        if scope == .network {
            throttled["failures"] = String(failures)
            if let address { throttled["address"] = address }
        }
        logger.notice(
            "Join attempts throttled",
            metadata: ["tandem.throttle.scope": "\(scope.rawValue)", "tandem.throttle.seconds": "\(Int(seconds))"]
        )
        try await store.recordEvent(sessionID: nil, kind: .joinThrottled, actor: "broker", detail: throttled, at: now)
    }
}
