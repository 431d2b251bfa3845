import Foundation
import Hummingbird
import TakedownDocuments
import TakedownModel
import TakedownService
import TakedownStore

/// `/v1/notices`: providers poll and answer; staff follow and withdraw.
struct NoticesController {
    let noticeDesk: NoticeDesk
    let settings: APISettings

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("notices", use: list)
        group.get("notices/{notice_id}", use: show)
        group.get("notices/{notice_id}/xarf", use: xarf)
        group.get("notices/{notice_id}/statement-of-reasons", use: statementOfReasons)
        group.post("notices/{notice_id}/acknowledge", use: acknowledge)
        group.post("notices/{notice_id}/removal", use: removal)
        group.post("notices/{notice_id}/unable", use: unable)
        group.post("notices/{notice_id}/dispute", use: dispute)
        group.post("notices/{notice_id}/withdraw", use: withdraw)
        group.post("notices/{notice_id}/dispute/decision", use: decide)
        group.post("notices/{notice_id}/appeal", use: appeal)
        group.post("notices/answers", use: bulk)
    }

    struct DecisionRequest: Decodable {
        var decision: String?
        var reason: String?
    }

    struct RemovalRequest: Decodable {
        var removedAt: Date?
        var action: String?
        var urls: [String]?
    }

    struct ReasonRequest: Decodable {
        var reason: String?
    }

    struct Empty: Decodable {}

    @Sendable func list(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let limit = try request.limit(default: 100, max: NoticeDesk.maxPageSize)
        var filter = NoticeFilter()
        if let status = request.query("status") {
            if status == "open" {
                filter.statuses = Set(NoticeStatus.allCases.filter(\.isOpen))
            } else if let one = NoticeStatus(rawValue: status) {
                filter.statuses = [one]
            } else {
                throw APIError.badParameter(
                    "status", "must be open or one of: " + NoticeStatus.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
        }
        let now = noticeDesk.now()
        if let overdue = request.query("overdue") {
            guard let flag = Bool(overdue) else { throw APIError.badParameter("overdue", "must be true or false") }
            // Overdue means open and past its deadline.
            if flag {
                filter.deadlineBefore = now
                filter.statuses = (filter.statuses ?? Set(NoticeStatus.allCases)).filter(\.isOpen)
            }
        }
        switch request.query("view") ?? "full" {
        case "full":
            let page = try await noticeDesk.notices(
                after: request.query("after"), limit: limit, for: principal, filter: filter)
            let views = page.notices.map { NoticeView($0, for: principal, now: now) }
            return .bytes(try NoticeView.page(views, nextCursor: page.nextCursor), type: "application/json")
        case "lean":
            let page = try await noticeDesk.noticeStates(
                after: request.query("after"), limit: limit, for: principal, filter: filter)
            return .bytes(Self.leanPage(page.notices, nextCursor: page.nextCursor), type: "application/json")
        default:
            throw APIError.badParameter("view", "must be full or lean")
        }
    }

    /// `{"notices": [{"id", "status", "sequence", "issued_at", "deadline_at"}], "next_cursor"}`, written
    /// directly: every value is an id, a status name, a number, a timestamp or a cursor, none needing escapes.
    static func leanPage(_ states: [NoticeState], nextCursor: String) -> [UInt8] {
        var text = #"{"notices":["#
        text.reserveCapacity(32 + states.count * 150)
        for (index, state) in states.enumerated() {
            if index > 0 { text += "," }
            text += #"{"id":""# + state.id.rawValue + #"","status":""# + state.status.rawValue
            text += #"","sequence":"# + String(state.sequence)
            text += #","issued_at":""# + Timestamp.format(state.issuedAt)
            text += #"","deadline_at":""# + Timestamp.format(state.deadlineAt) + #""}"#
        }
        text += #"],"next_cursor":""# + nextCursor + #""}"#
        return Array(text.utf8)
    }

    /// JSON by default; `Accept: application/jose` gives the compact JWS, `text/plain` the notice text.
    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let choice = MediaChoice(accept: request.headers[.accept])
        if choice == .none {
            throw APIError.notAcceptable("a notice is served as application/json, application/jose or text/plain")
        }
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: principal)
        switch choice {
        case .jose:
            return .bytes(Array(notice.jws.utf8), type: "application/jose")
        case .text:
            let text = try noticeDesk.text(of: notice, language: request.query("lang"))
            return .bytes(Array(text.utf8), type: "text/plain; charset=utf-8")
        case .json:
            return .bytes(
                try NoticeView(notice, for: principal, now: noticeDesk.now()).json(), type: "application/json")
        case .none:
            throw APIError.notAcceptable("a notice is served as application/json, application/jose or text/plain")
        }
    }

    /// `{"reports": [...]}`, written 200 reports at a time so a notice of 10,000 items neither builds one
    /// huge document nor holds a thread; costly, so counted against the caller's heavy-request cap.
    /// A draft DSA statement of reasons in the transparency database's fields, for the provider to adapt.
    @Sendable func statementOfReasons(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: principal)
        return try .json(try noticeDesk.statementOfReasons(of: notice))
    }

    @Sendable func xarf(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let notice = try await noticeDesk.notice(
            try context.parameters.id("notice_id", as: NoticeID.self), for: principal)
        let slot = try settings.heavySlot(for: principal)
        let (count, reports) = try noticeDesk.xarf(of: notice)
        let body = ResponseBody { writer in
            defer { slot.release() }
            try await writer.write(ByteBuffer(string: #"{"reports":["#))
            for start in stride(from: 0, to: count, by: 200) {
                var chunk = Data()
                for (offset, report) in reports(start..<min(start + 200, count)).enumerated() {
                    if start + offset > 0 { chunk.append(UInt8(ascii: ",")) }
                    chunk.append(
                        try JSONSerialization.data(
                            withJSONObject: report, options: [.sortedKeys, .withoutEscapingSlashes]))
                }
                try await writer.write(ByteBuffer(bytes: chunk))
                await Task.yield()
            }
            try await writer.write(ByteBuffer(string: "]}"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    @Sendable func acknowledge(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        _ = try await JSONBody<Empty>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout, emptyAllowed: true)
        return try await answer(.acknowledge, context)
    }

    @Sendable func removal(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        let body = try await JSONBody<RemovalRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        var v = Validator()
        let action: RemovalAction? = v.choice(body.action, "action")
        if let urls = body.urls, urls.isEmpty { v.fail("urls", "must name at least one URL, or be left out for all") }
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        return try await answer(.removal(action: action!, removedAt: body.removedAt, urls: body.urls), context)
    }

    @Sendable func unable(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await answer(.unable(reason: try await reason(request)), context)
    }

    @Sendable func dispute(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await answer(.dispute(reason: try await reason(request)), context)
    }

    @Sendable func withdraw(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return try await answer(.withdraw(reason: try await reason(request)), context)
    }

    /// Staff decide a dispute or an appeal: `uphold` (the notice stands, its clock restarts) or `accept`
    /// (the notice is withdrawn). An appeal is decided by someone other than who upheld the dispute.
    @Sendable func decide(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        let body = try await JSONBody<DecisionRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        var v = Validator()
        let decision = v.text(body.decision, "decision", max: 10)
        if let decision, decision != "uphold", decision != "accept" { v.fail("decision", "must be uphold or accept") }
        let reason = v.text(body.reason, "reason", max: 2000)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        return try await answer(.decideDispute(uphold: decision == "uphold", reason: reason!), context)
    }

    struct BulkRequest: Decodable {
        struct Entry: Decodable {
            var noticeId: String?
            var answer: String?
            var action: String?
            var removedAt: Date?
            var urls: [String]?
            var reason: String?
        }
        var answers: [Entry]?
    }

    /// One answer's result, before it is written out.
    struct BulkResult {
        var index: Int
        var noticeId: String?
        var result: BulkAnswerResult.Outcome
        var status: NoticeStatus?
        var detail: String?
    }

    /// Up to 1,000 answers in one request and one transaction, each with its own result: `applied`,
    /// `already` (a repeat), `forbidden` by the state machine, `not_found`, or `invalid`.
    @Sendable func bulk(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let (principal, _) = try context.partner()
        let body = try await JSONBody<BulkRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        guard let entries = body.answers, (1...NoticeDesk.maxBulkAnswers).contains(entries.count) else {
            throw GatewayError.invalid(
                ValidationError([
                    FieldError(name: "answers", reason: "must hold 1 to \(NoticeDesk.maxBulkAnswers) answers")
                ]))
        }
        var results = entries.enumerated().map { index, entry in
            BulkResult(index: index, noticeId: entry.noticeId, result: .invalid)
        }
        var valid: [(index: Int, notice: NoticeID, answer: NoticeAnswer)] = []
        for (index, entry) in entries.enumerated() {
            switch Self.answer(of: entry) {
            case .success(let (notice, answer)): valid.append((index, notice, answer))
            case .failure(let error): results[index].detail = error.description
            }
        }
        let outcomes = try await noticeDesk.answerInBulk(valid.map { ($0.notice, $0.answer) }, by: principal)
        for (entry, outcome) in zip(valid, outcomes) {
            results[entry.index].result = outcome.outcome
            results[entry.index].status = outcome.status
            results[entry.index].detail = outcome.detail
        }
        // Written directly: `JSONEncoder` converting every key of 1,000 results to snake_case cost a twentieth
        // of the request.
        let json = CanonicalJSON.object([
            (
                "results",
                .array(
                    results.map { result in
                        .object([
                            ("index", .int(result.index)), ("notice_id", .text(result.noticeId)),
                            ("result", .string(result.result.rawValue)), ("status", .text(result.status?.rawValue)),
                            ("detail", .text(result.detail)),
                        ])
                    })
            )
        ])
        return .bytes(Array(json.data), type: "application/json")
    }

    /// One entry of a bulk request as an answer, or the sentence saying what is wrong with it.
    static func answer(of entry: BulkRequest.Entry) -> Result<(NoticeID, NoticeAnswer), BulkEntryError> {
        var v = Validator()
        let id = v.id(v.require(entry.noticeId, "notice_id"), "notice_id", as: NoticeID.self)
        var answer: NoticeAnswer?
        switch entry.answer {
        case "acknowledge":
            answer = .acknowledge
        case "removal":
            let action: RemovalAction? = v.choice(entry.action, "action")
            if let urls = entry.urls, urls.isEmpty { v.fail("urls", "must name at least one URL, or be left out") }
            answer = action.map { .removal(action: $0, removedAt: entry.removedAt, urls: entry.urls) }
        case "unable", "dispute", "appeal":
            let reason = v.text(entry.reason, "reason", max: 2000)
            answer = reason.map { reason in
                entry.answer == "unable"
                    ? .unable(reason: reason)
                    : entry.answer == "dispute" ? .dispute(reason: reason) : .appeal(reason: reason)
            }
        case nil:
            v.fail("answer", "is required")
        default:
            v.fail("answer", "must be acknowledge, removal, unable, dispute or appeal")
        }
        guard v.errors.isEmpty, let id, let answer else {
            return .failure(BulkEntryError(v.errors.map { "\($0.name) \($0.reason)" }.joined(separator: "; ")))
        }
        return .success((id, answer))
    }

    struct BulkEntryError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Sendable func appeal(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.partner()
        return try await answer(.appeal(reason: try await reason(request)), context)
    }

    private func reason(_ request: Request) async throws -> String {
        let body = try await JSONBody<ReasonRequest>.read(
            request, limit: settings.maxBodyBytes, timeout: settings.readTimeout
        ).value
        var v = Validator()
        let reason = v.text(body.reason, "reason", max: 2000)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        return reason!
    }

    private func answer(_ answer: NoticeAnswer, _ context: GatewayRequestContext) async throws -> Response {
        let principal = try context.caller()
        let id = try context.parameters.id("notice_id", as: NoticeID.self)
        let notice = try await noticeDesk.answer(id, answer, by: principal)
        return .bytes(try NoticeView(notice, for: principal, now: noticeDesk.now()).json(), type: "application/json")
    }
}

/// What a client's `Accept` header asks a notice to be.
enum MediaChoice: Equatable {
    case json, jose, text, none

    /// The most preferred type we serve, by q-value and then the client's order; a malformed range is
    /// skipped, never trusted, and `q=0` rules a type out.
    init(accept: String?) {
        guard let accept, !accept.allSatisfy({ $0 == " " || $0 == "\t" }) else {
            self = .json
            return
        }
        var best: (choice: MediaChoice, quality: Double)?
        for range in accept.split(separator: ",", omittingEmptySubsequences: true).prefix(64) {
            let pieces = range.split(separator: ";", omittingEmptySubsequences: false)
            guard let first = pieces.first else { continue }
            let choice: MediaChoice
            switch first.trimmingCharacters(in: .whitespaces).lowercased() {
            case "application/jose", "application/jwt": choice = .jose
            case "text/plain": choice = .text
            case "application/json", "application/*", "*/*": choice = .json
            default: continue
            }
            var quality = 1.0
            for parameter in pieces.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, pair[0].lowercased() == "q" else { continue }
                guard let q = Double(pair[1]), q.isFinite, (0...1).contains(q) else {
                    quality = 0
                    break
                }
                quality = q
            }
            if quality > 0, quality > (best?.quality ?? 0) { best = (choice, quality) }
        }
        self = best?.choice ?? .none
    }
}
