extension ControlMessage {
    /// Whether the broker sends this to say a hello was accepted and the connection now takes
    /// part in a session (`session.created`, `session.joined`, `session.resumed`,
    /// `session.assigned`, `session.watching`, and `presence.status` or `floor.state` for presence and floor connections). Until one of them, a connection's messages
    /// are held to the hello size limit (§13).
    public var isWelcome: Bool {
        switch self {
        case .sessionCreated, .sessionJoined, .sessionResumed, .sessionAssigned, .sessionWatching, .presenceStatus, .floorState:
            true
        case .hello, .peerJoined, .chat, .sessionEnd, .sessionEnded, .error, .streamStart, .streamStop, .streamPause,
            .streamResume, .streamControl, .annotation, .overlaySnapshot, .freeze, .unfreeze, .consent, .peerAway, .peerBack,
            .queueStatus, .sessionTransfer, .sessionTransferred, .sessionPresence, .voice, .track, .presenceSet, .queueOffer, .queueDecline,
            .queueWithdrawn, .queueCallback, .queueCallbackRecorded, .supervisorRequest:
            false
        }
    }
}

extension ControlMessage {
    /// Whether the broker writes an audit event when a customer sends this (consent, stream
    /// changes, freezes; §11): held to the customer's own budget (§13).
    public var isLoggedFromCustomer: Bool {
        switch self {
        case .consent, .streamStart, .streamStop, .streamPause, .streamResume, .freeze, .unfreeze:
            true
        case .hello, .sessionCreated, .sessionJoined, .peerJoined, .chat, .sessionEnd, .sessionEnded, .error, .streamControl,
            .annotation, .overlaySnapshot, .sessionResumed, .peerAway, .peerBack, .queueStatus, .sessionAssigned, .sessionTransfer,
            .sessionTransferred, .sessionWatching, .sessionPresence, .voice, .track, .presenceSet, .presenceStatus, .queueOffer, .queueDecline,
            .queueWithdrawn, .queueCallback, .queueCallbackRecorded, .supervisorRequest, .floorState:
            false
        }
    }
}

extension ControlMessage {
    /// Whether dropping this message would leave the two sides disagreeing about the session
    /// (consent, streams starting or stopping, ending, handing over). A connection over its
    /// control rate still gets these through; they count against its excess all the same (§13).
    public var changesSessionState: Bool {
        switch self {
        case .consent, .streamStart, .streamStop, .sessionEnd, .sessionTransfer, .voice:
            true
        case .hello, .sessionCreated, .sessionJoined, .peerJoined, .chat, .sessionEnded, .error, .streamPause, .streamResume,
            .streamControl, .annotation, .overlaySnapshot, .freeze, .unfreeze, .sessionResumed, .peerAway, .peerBack,
            .queueStatus, .sessionAssigned, .sessionTransferred, .sessionWatching, .sessionPresence, .track, .presenceSet, .presenceStatus,
            .queueOffer, .queueDecline, .queueWithdrawn, .queueCallback, .queueCallbackRecorded, .supervisorRequest, .floorState:
            false
        }
    }
}
