import Foundation
import TandemClient
import TandemProtocol

/// `tandem join`: the post-session survey (protocol/README.md §5.16), asked on the terminal
/// after the session ended, unless `--no-survey`.
extension Join {
    /// How many times a question is asked again after an answer it cannot take.
    static let surveyAttempts = 3

    /// Asks the survey's questions with `ask` (which shows a prompt and returns the line
    /// typed, nil at the end of the input) and returns the answer, or nil when the customer
    /// skipped it: Enter on the first question, the end of the input, or no usable answer.
    static func surveyAnswer(_ offer: SurveyOffer, ask: (String) -> String?, tell: (String) -> Void = { say($0) }) -> SurveyAnswer? {
        tell("Please tell us how it went: a short survey (Enter on the first question skips it).")
        // Was it solved?
        var solvedAnswer: Bool?
        for attempt in 1...surveyAttempts {
            guard let line = ask("Was your problem solved? [y/n] ") else { return nil }
            let text = line.trimmingCharacters(in: .whitespaces).lowercased()
            if text.isEmpty { return nil }
            if ["y", "yes"].contains(text) { solvedAnswer = true } else if ["n", "no"].contains(text) { solvedAnswer = false }
            if solvedAnswer != nil { break }
            if attempt < surveyAttempts { tell("Please answer y or n (or press Enter to skip the survey).") }
        }
        guard let solved = solvedAnswer else { return nil }
        // How satisfied?
        var scoreAnswer: Int?
        for attempt in 1...surveyAttempts {
            guard let line = ask("How satisfied are you, 1-5? (1 very dissatisfied, 5 very satisfied) ") else { return nil }
            if let value = Int(line.trimmingCharacters(in: .whitespaces)), (1...5).contains(value) {
                scoreAnswer = value
                break
            }
            if attempt < surveyAttempts { tell("Please type a number from 1 to 5.") }
        }
        guard let score = scoreAnswer else { return nil }
        // Would they recommend us (only when the operator asks it)?
        var nps: Int?
        if offer.nps {
            for attempt in 1...surveyAttempts {
                guard let line = ask("How likely are you to recommend us, 0-10? (0 not at all, 10 extremely; Enter leaves it out) ") else {
                    return nil
                }
                let text = line.trimmingCharacters(in: .whitespaces)
                if text.isEmpty { break }
                if let value = Int(text), (0...10).contains(value) {
                    nps = value
                    break
                }
                if attempt < surveyAttempts { tell("Please type a number from 0 to 10, or press Enter to leave it out.") }
            }
        }
        // Anything else? One line; controls other than tabs are dropped (the broker refuses them).
        var comment: String?
        if let line = ask("Comment (optional, one line): ") {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: line.unicodeScalars.filter { $0 == "\t" || $0.properties.generalCategory != .control })
            let text = String(scalars).trimmingCharacters(in: .whitespaces)
            if text.count > SurveyAnswer.maxCommentLength {
                tell("(Your comment was cut to \(SurveyAnswer.maxCommentLength) characters.)")
            }
            let kept = String(text.prefix(SurveyAnswer.maxCommentLength))
            if !kept.isEmpty { comment = kept }
        }
        return SurveyAnswer(token: offer.token, solved: solved, score: score, nps: nps, comment: comment)
    }

    /// Asks the survey on standard input and sends the answer to the broker; says how it went.
    static func runSurvey(_ offer: SurveyOffer, configuration: TandemClientConfiguration) async {
        guard offer.expiresAt > Date() else { return }
        let given = surveyAnswer(
            offer,
            ask: { prompt in
                try? FileHandle.standardOutput.write(contentsOf: Data(prompt.utf8))
                return readLine(strippingNewline: true)
            }
        )
        guard let answer = given else {
            say("Survey skipped.")
            return
        }
        if let field = answer.invalidField(npsAsked: offer.nps) {
            printError("The survey answer was not sent: \(field) is not valid.")
            return
        }
        do {
            _ = try await TandemAPIClient.answerSurvey(answer, configuration: configuration)
            say("Thank you for your answer.")
        } catch let failure as TandemAPIClient.Failure {
            switch failure.status {
            case 409: say("This session's survey was already answered. Thank you.")
            case 410: say("This survey has closed: it was open for 24 hours after the session.")
            default: printError("The survey answer was not accepted: \(failure.description)")
            }
        } catch {
            printError("The survey answer could not be sent: \(error)")
        }
    }
}
