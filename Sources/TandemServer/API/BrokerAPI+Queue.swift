import Hummingbird
import TandemCore
import TandemProtocol

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The queue and transfers over HTTPS (protocol/README.md §16, §17).
extension BrokerAPI {
    /// `GET /v1/queue`: who waits for an agent on this broker. Agents and admins.
    func listQueue(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canStartSessions else { throw APIError.forbidden("role \(user.role.rawValue) does not take sessions") }
        return try json(await hub.queueListing())
    }

    /// `GET /v1/agents`: who is on the floor (§20.1) and the transfer reasons. Agents and admins.
    func listAgents(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canStartSessions else { throw APIError.forbidden("role \(user.role.rawValue) does not take sessions") }
        return try json(AgentList(agents: await hub.agentList(), transferReasons: hub.configuration.routing.transferReasons))
    }

    /// `GET /v1/sessions/live`: the live sessions of this broker, for supervisors (admins, §18).
    func listLiveSessions(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canSupervise else { throw APIError.forbidden("only admins see every live session") }
        return try json(await hub.liveSessions())
    }

    /// `POST /v1/sessions/{id}/transfer` with `{"line": "line2"}` or `{"agent": "bob"}` (and
    /// an optional `note`): the session's agent or an admin hands the live session over.
    /// 202 with the pending `session.transferred`.
    func transferSession(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let user = try await authenticate(request)
        guard user.role.canStartSessions else { throw APIError.forbidden("role \(user.role.rawValue) cannot transfer sessions") }
        let id = try context.parameters.require("id")
        let transfer = try await decodeBody(
            TransferRequest.self,
            of: request,
            upTo: 16 << 10,
            shape: "{\"line\": \"line2\"} or {\"agent\": \"name\"}, with an optional \"note\" and \"reason\""
        )
        guard SessionID.isWellFormed(id), let session = await hub.session(id: id) else {
            // Ended, unknown, or held by another broker of the deployment.
            throw try await transferConflict(id, by: user)
        }
        guard user.role.canEndAnySession || session.agentName == user.name else {
            throw APIError.forbidden("only the session's agent or an admin can transfer it")
        }
        switch try await hub.transfer(session, request: transfer, by: user.name) {
        case .pending(let notice):
            let data = try TandemJSON.makeEncoder().encode(ControlMessage.sessionTransferred(notice))
            return Response(status: .accepted, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        case .invalid(let reason):
            throw APIError.badRequest(reason)
        case .notTransferable:
            throw APIError.conflict("only a live session with a customer and its agent connected, not already being transferred, can be handed over")
        case .queueFull:
            throw APIError(.queueFull, "the queue is full; try again later")
        }
    }
}
