import TandemCore
import TandemProtocol

/// The `409 conflict` of ending or transferring a session this broker does not hold
/// (protocol/README.md §9, §14, §17), saying what is true of it.
extension BrokerAPI {
    /// `POST /v1/sessions/{id}/end` of a session the user may read that this broker could not
    /// end and whose outcome could not be recorded: it has ended with an outcome already, or it
    /// has not ended and is live on another broker of the deployment (or, with one broker,
    /// is just starting or ending).
    func endConflict(_ id: String) async throws -> APIError {
        guard let record = try await store.session(id: id), !record.isEnded else {
            return APIError.conflict("the session has ended and its outcome is already recorded")
        }
        guard let registry else {
            return APIError.conflict("session \(id) has not ended, but it is not live on this broker; try again once it has ended")
        }
        return APIError.conflict(
            "session \(id) is live on \(try await holder(id, registry)) (§14): end it through that broker's API, or record its outcome here once it has ended"
        )
    }

    /// `POST /v1/sessions/{id}/transfer` of a session this broker does not hold. Only a
    /// session the user may read is described; any other id (unknown, malformed, another
    /// agent's) gets the same answer, so that nothing is learned about it.
    func transferConflict(_ id: String, by user: UserRecord) async throws -> APIError {
        guard SessionID.isWellFormed(id), let record = try await store.session(id: id),
            user.role.canReadAllSessions || record.agent == user.name
        else {
            return APIError.conflict("no live session \(id) on this broker")
        }
        if record.isEnded {
            return APIError.conflict("session \(id) has ended: only a live session can be handed over")
        }
        guard let registry else {
            return APIError.conflict("session \(id) has not ended, but it is not live on this broker; try again in a moment")
        }
        return APIError.conflict("session \(id) is live on \(try await holder(id, registry)) (§14): transfer it through that broker's API")
    }

    /// Several brokers share this broker's log (a PostgreSQL store, §14): a session open in the
    /// log that this broker does not hold is live on another one.
    var registry: (any BrokerRegistry)? { store as? any BrokerRegistry }

    /// "another broker of this deployment (URL)", or without the URL when that broker is not
    /// registered (it stopped, or went silent and is about to be declared lost).
    private func holder(_ id: String, _ registry: any BrokerRegistry) async throws -> String {
        guard let url = try await registry.broker(holdingSession: id) else { return "another broker of this deployment" }
        return "another broker of this deployment (\(url))"
    }
}
