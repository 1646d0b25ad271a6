/// Validation of helpdesk ticket references such as `HD-1042` or `INC0012345`.
public enum TicketID {
    public static let maxLength = 64

    /// 1–64 printable ASCII characters without spaces.
    public static func isValid(_ ticket: String) -> Bool {
        !ticket.isEmpty && ticket.utf8.count <= maxLength && ticket.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}
