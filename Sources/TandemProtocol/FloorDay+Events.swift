#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension FloorDay {
    /// The calendar of the floor's day and hours: Gregorian, UTC.
    public static let calendar: Calendar = {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC") ?? utc.timeZone
        return utc
    }()

    /// The day's figures from its audit events (protocol/README.md §20.6): queue answers,
    /// abandons and callbacks, the endings' outcomes and the surveys answered that day.
    /// `targetSeconds`: the answer-time target; `calendar` is UTC.
    public init(events: [AuditEvent], targetSeconds: Int) {
        self.init()
        var waits: [Double] = []
        var satisfied = 0
        var solved = 0
        for event in events {
            switch event.kind {
            case .queueAnswered:
                let waited = (event.detail["waitedMs"].flatMap(Double.init) ?? 0) / 1000
                let within = waited <= Double(targetSeconds)
                waits.append(waited)
                answered += 1
                if within { answeredWithinTarget += 1 }
                let hour = Self.calendar.component(.hour, from: event.at)
                if byHour.indices.contains(hour) {
                    byHour[hour].answered += 1
                    if within { byHour[hour].withinTarget += 1 }
                }
                let bucket = Self.waitBuckets.firstIndex { waited <= Double($0) } ?? Self.waitBuckets.count
                self.waits[bucket] += 1
            case .queueLeft:
                abandoned += 1
            case .queueCallback:
                callbacks += 1
            case .sessionEnded:
                outcomes[event.detail["outcome"] ?? "none", default: 0] += 1
            case .surveyAnswered:
                surveys += 1
                if let score = event.detail["score"].flatMap(Int.init), score >= 4 { satisfied += 1 }
                if event.detail["solved"] == "yes" { solved += 1 }
            default:
                break
            }
        }
        let decided = answered + abandoned
        serviceLevel = decided == 0 ? nil : Double(answeredWithinTarget) / Double(decided)
        medianWaitSeconds = AuditStats.median(waits)
        csat = surveys == 0 ? nil : Double(satisfied) / Double(surveys)
        fcr = surveys == 0 ? nil : Double(solved) / Double(surveys)
    }
}
