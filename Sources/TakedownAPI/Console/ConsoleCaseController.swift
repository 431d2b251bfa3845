import Foundation
import Hummingbird
import TakedownModel
import TakedownService
import TakedownStore

/// A case from a pasted batch: the form, the routing preview of every line, the issue, and the case page.
struct ConsoleCaseController {
    let caseDesk: CaseDesk
    let holdDesk: HoldDesk
    let noticeDesk: NoticeDesk
    let partnerDesk: PartnerDesk
    let pages: ConsolePages

    func register(on group: RouterGroup<GatewayRequestContext>) {
        group.get("cases/new", use: new)
        group.post("cases/preview", use: preview)
        group.post("cases", use: issue)
        group.get("cases/{case_id}", use: show)
        group.post("cases/{case_id}/route", use: route)
    }

    /// What the form holds, sent back on every step so nothing typed is lost.
    struct Draft {
        var reference = ""
        var grade = "A"
        var classification = ""
        var mediaType = "image"
        var observedAt = ""
        var notes = ""
        var batch = ""

        init() {}

        init(_ form: ConsoleForm) {
            reference = form["reference"] ?? ""
            grade = form["grade"] ?? ""
            classification = form["classification"] ?? ""
            mediaType = form["media_type"] ?? ""
            observedAt = form["observed_at"] ?? ""
            notes = form["notes"] ?? ""
            batch = form.raw("batch") ?? ""
        }

        /// The submission the API would take, or the sentences of what is wrong with the batch's lines.
        func submission(now: Date) -> (CaseSubmission, [String]) {
            var problems: [String] = []
            let observed: Date
            if observedAt.isEmpty {
                observed = now
            } else if let date = Self.parse(observedAt) {
                observed = date
            } else {
                observed = now
                problems.append("Observed at must be a date and time such as 2026-12-03T09:30.")
            }
            var items: [CaseSubmission.ItemInput] = []
            for (number, line) in batch.split(whereSeparator: \.isNewline).enumerated() {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," || $0 == ";" })
                guard let url = words.first else { continue }
                var hashes = CaseSubmission.HashesInput()
                var ip: String?
                for word in words.dropFirst() {
                    let pair = word.split(separator: ":", maxSplits: 1).map(String.init)
                    let (name, value) = pair.count == 2 ? (pair[0].lowercased(), pair[1]) : ("", String(word))
                    switch (name, value.count) {
                    case ("md5", _), ("", 32): hashes.md5 = value
                    case ("sha1", _), ("", 40): hashes.sha1 = value
                    case ("sha256", _), ("", 64): hashes.sha256 = value
                    case ("pdq", _): hashes.pdq = value
                    case ("ip", _): ip = value
                    default: problems.append("Line \(number + 1): “\(word)” is neither a hash nor ip:ADDRESS.")
                    }
                }
                items.append(.init(url: String(url), observedAt: observed, ip: ip, hashes: hashes))
            }
            let submission = CaseSubmission(
                reference: reference.isEmpty ? nil : reference,
                category: .init(ukGrade: grade, classification: classification.isEmpty ? nil : classification),
                mediaType: mediaType, notes: notes.isEmpty ? nil : notes, items: items)
            return (submission, problems)
        }

        static func parse(_ text: String) -> Date? {
            if let date = try? Date(text, strategy: .iso8601) { return date }
            // `datetime-local` sends minutes without a zone; the form says it is UTC.
            return try? Date(text + ":00Z", strategy: .iso8601)
        }
    }

    struct Choice {
        var value: String
        var label: String
        var selected: Bool

        init(value: String, selected: Bool) {
            self.value = value
            self.label = value.isEmpty ? "(none)" : value
            self.selected = selected
        }
    }

    struct FormPage {
        var draft: Draft
        var grades: [Choice]
        var classifications: [Choice]
        var media: [Choice]
        var errors: [String]
        var hasErrors: Bool
    }

    func formPage(_ draft: Draft, errors: [String]) -> FormPage {
        FormPage(
            draft: draft,
            grades: UKGrade.allCases.map { Choice(value: $0.rawValue, selected: $0.rawValue == draft.grade) },
            classifications: [Choice(value: "", selected: draft.classification.isEmpty)]
                + IndustryClassification.allCases.map {
                    Choice(value: $0.rawValue, selected: $0.rawValue == draft.classification)
                },
            media: MediaType.allCases.map { Choice(value: $0.rawValue, selected: $0.rawValue == draft.mediaType) },
            errors: errors, hasErrors: !errors.isEmpty)
    }

    @Sendable func new(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        _ = try context.staff()
        return try pages.page("case-new", title: "New case", formPage(Draft(), errors: []), context: context)
    }

    struct PreviewLine {
        var number: Int
        var url: String
        var recipient: String?
        var kind: String?
        var basis: String
        var reason: String?
        var country: String?
    }

    struct PreviewPage {
        var draft: Draft
        var count: Int
        var lines: [PreviewLine]
        var recipients: [[String: String]]
        var unrouted: Int
        var notices: Int
        var idempotencyKey: String
    }

    /// Every line's routing, before anything is issued; the form again, with sentences, when it is wrong.
    @Sendable func preview(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let draft = Draft(try context.consoleForm())
        let (submission, problems) = draft.submission(now: caseDesk.now())
        if !problems.isEmpty { return try refuse(draft, problems, context) }
        let preview: CasePreview
        do {
            preview = try await caseDesk.previewCase(submission, by: principal)
        } catch GatewayError.invalid(let validation) {
            return try refuse(draft, Self.sentences(validation), context)
        }
        let lines = preview.lines.enumerated().map { index, line in
            PreviewLine(
                number: index + 1, url: line.url, recipient: line.recipient?.name,
                kind: line.recipient.map { $0.kind == .hotline ? "peer hotline" : "provider" },
                basis: (line.trace?.basis.rawValue ?? "none").replacingOccurrences(of: "_", with: " "),
                reason: line.unroutedReason.map { $0.replacingOccurrences(of: "_", with: " ") },
                country: line.trace?.country)
        }
        let recipients = preview.recipients.map {
            [
                "name": $0.partner.name, "kind": $0.partner.kind.rawValue.replacingOccurrences(of: "_", with: " "),
                "count": String($0.count),
            ]
        }
        let content = PreviewPage(
            draft: draft, count: lines.count, lines: lines, recipients: recipients, unrouted: preview.unroutedCount,
            notices: recipients.count, idempotencyKey: "console-" + ConsoleSessions.randomText())
        return try pages.page("case-preview", title: "Check the routing", content, context: context)
    }

    /// Issues the previewed batch once: the key made at preview time makes a second press replay the first.
    @Sendable func issue(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let form = try context.consoleForm()
        let draft = Draft(form)
        let (submission, problems) = draft.submission(now: caseDesk.now())
        if !problems.isEmpty { return try refuse(draft, problems, context) }
        guard let key = form["idempotency_key"], key.count <= 255 else {
            return try refuse(draft, ["Check the routing before issuing."], context)
        }
        let receipt: CaseReceipt
        do {
            receipt = try await caseDesk.submitCase(
                submission, by: principal,
                idempotency: IdempotencyKey(key: key, body: try WireFormat.encoder().encode(submission)))
        } catch GatewayError.invalid(let validation) {
            return try refuse(draft, Self.sentences(validation), context)
        }
        return ConsolePages.redirect("/console/cases/\(receipt.id)?done=issued")
    }

    private func refuse(_ draft: Draft, _ errors: [String], _ context: GatewayRequestContext) throws -> Response {
        try pages.page(
            "case-new", title: "New case", formPage(draft, errors: errors), context: context,
            status: .unprocessableContent)
    }

    /// Field errors as sentences naming the batch's line (`items[2].url` is line 3).
    static func sentences(_ error: ValidationError) -> [String] {
        error.errors.map { field in
            let name = field.name
            guard name.hasPrefix("items["), let close = name.firstIndex(of: "]"),
                let index = Int(name[name.index(name.startIndex, offsetBy: 6)..<close])
            else {
                let label = name.replacingOccurrences(of: "category.uk_grade", with: "grade")
                    .replacingOccurrences(of: "_", with: " ")
                return label.prefix(1).uppercased() + label.dropFirst() + " " + field.reason + "."
            }
            var part = name[name.index(after: close)...].drop { $0 == "." }
            if part.hasPrefix("hashes.") { part = part.dropFirst(7) }
            let subject =
                part.isEmpty
                ? "it" : part == "hashes" ? "the line" : String(part).replacingOccurrences(of: "_", with: " ")
            return "Line \(index + 1): \(subject) \(field.reason)."
        }
    }

    struct CaseItemRow {
        var url: String
        var noticeId: String?
        var recipient: String?
        var basis: String
        var reason: String?
        var trace: String
        /// The recipient a police hold plans for this URL, while the hold lasts.
        var heldFor: String?
    }

    @Sendable func show(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let record = try await caseDesk.caseRecord(try context.parameters.id("case_id", as: CaseID.self))
        let partners = try await partnerDesk.partners()
        let names = Dictionary(partners.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var byNotice: [NoticeID: PartnerID] = [:]
        for id in Set(record.items.compactMap(\.noticeId)) {
            byNotice[id] = try await noticeDesk.notice(id, for: principal).partnerId
        }
        let hold = try await holdDesk.hold(ofCase: record.id).flatMap { $0.status == .held ? $0 : nil }
        var planned: [String: PartnerID] = [:]
        for group in hold?.plan ?? [] { for url in group.urls { planned[url] = group.partnerId } }
        let rows = record.items.map { item in
            CaseItemRow(
                url: item.url, noticeId: item.noticeId?.rawValue,
                recipient: item.noticeId.flatMap { byNotice[$0] }.map { names[$0] ?? $0.rawValue },
                basis: (item.trace?.basis.rawValue ?? "none").replacingOccurrences(of: "_", with: " "),
                reason: item.noticeId == nil ? item.unroutedReason?.replacingOccurrences(of: "_", with: " ") : nil,
                trace: [item.trace?.host, item.trace?.address, item.trace?.asn.map { "AS\($0)" }, item.trace?.country]
                    .compactMap { $0 }.joined(separator: " · "),
                heldFor: planned[item.url].map { names[$0] ?? $0.rawValue })
        }
        let providers = partners.filter { $0.kind == .hostingProvider }.sorted { $0.name < $1.name }
        let content = present([
            "id": record.id.rawValue, "reference": record.reference, "grade": record.category.ukGrade.rawValue,
            "media_type": record.mediaType.rawValue, "created": TimeView(record.createdAt),
            "created_by": record.createdBy, "items": rows,
            // A held case's URLs wait for release: none is routed by hand meanwhile.
            "unrouted": hold == nil && rows.contains { $0.noticeId == nil },
            "providers": providers.map { ["id": $0.id.rawValue, "name": $0.name] },
            "hold": hold.map {
                present([
                    "id": $0.id.rawValue, "police": names[$0.policePartnerId] ?? $0.policePartnerId.rawValue,
                    "ends": TimeView($0.endsAt).utc, "reason": $0.reason,
                ])
            },
        ])
        let flash: String? =
            switch request.uri.queryParameters.get("done") {
            case "issued": "The case is issued. Each provider's notice is on its way."
            case "routed": "The item is routed and its notice issued."
            default: nil
            }
        return try pages.page("case", title: "Case \(record.reference)", content, context: context, flash: flash)
    }

    /// Routes an unrouted item to a provider chosen by hand: a notice of its own is issued.
    @Sendable func route(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let principal = try context.staff()
        let id = try context.parameters.id("case_id", as: CaseID.self)
        let form = try context.consoleForm()
        var v = Validator()
        let url = v.require(form["url"], "url")
        let partner = v.id(v.require(form["partner_id"], "partner_id"), "partner_id", as: PartnerID.self)
        do { try v.check() } catch { throw GatewayError.invalid(error) }
        _ = try await caseDesk.routeItems(of: id, urls: [url!], to: partner!, by: principal)
        return ConsolePages.redirect("/console/cases/\(id)?done=routed")
    }
}

extension GatewayRequestContext {
    /// The form the console middleware read and checked; a POST without one never reaches a handler.
    func consoleForm() throws -> ConsoleForm {
        guard let form else { throw APIError.badRequest("this needs a form") }
        return form
    }
}
