/// Customer → broker (`queue.callback`, protocol/README.md §20.4): instead of waiting
/// longer, the customer leaves a callback request for its ticket.
public struct QueueCallback: Sendable, Equatable, Codable {
    public static let maxMessageLength = 500
    public static let maxContactLength = 100

    public var message: String
    /// How to reach the customer (a phone number, a time), as it typed it.
    public var contact: String?

    public init(message: String, contact: String? = nil) {
        self.message = message
        self.contact = contact
    }

    /// The member over its length, or nil: characters, and 4 bytes of UTF-8 a character at
    /// most (a character can stack any number of combining marks).
    public var invalidField: String? {
        if message.utf8.count > 4 * Self.maxMessageLength || message.count > Self.maxMessageLength { return "message" }
        if let contact, contact.utf8.count > 4 * Self.maxContactLength || contact.count > Self.maxContactLength { return "contact" }
        return nil
    }
}

/// Broker → customer (`queue.callback-recorded`, §20.4): the request is logged; the
/// connection closes next.
public struct QueueCallbackRecorded: Sendable, Equatable, Codable {
    public var queueID: String
    public var ticket: String

    enum CodingKeys: String, CodingKey {
        case queueID = "queueId"
        case ticket
    }

    public init(queueID: String, ticket: String) {
        self.queueID = queueID
        self.ticket = ticket
    }
}
