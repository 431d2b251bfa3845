import Foundation
import TakedownModel
import Testing

@Suite("Notice state machine")
struct NoticeTransitionTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func notice(_ status: NoticeStatus, urls: [String] = ["https://a.example.com/1"]) -> Notice {
        Notice(
            id: .generate(), caseId: .generate(), partnerId: .generate(), status: status, issuedAt: start,
            deadlineAt: start.addingTimeInterval(86400), items: urls.map { NoticeItem(url: $0) }, document: Data(),
            jws: "", timeline: [])
    }

    enum Outcome: Equatable { case changes(to: NoticeStatus), unchanged, conflict }

    /// Every (status, answer) pair and what it must do.
    static let table: [(NoticeStatus, String, Outcome)] = [
        (.issued, "acknowledge", .changes(to: .acknowledged)),
        (.delivered, "acknowledge", .changes(to: .acknowledged)),
        (.acknowledged, "acknowledge", .unchanged),
        (.removed, "acknowledge", .unchanged),
        (.verified, "acknowledge", .unchanged),
        (.unable, "acknowledge", .conflict),
        (.disputed, "acknowledge", .conflict),
        (.withdrawn, "acknowledge", .conflict),
        (.expired, "acknowledge", .conflict),
        (.issued, "removal", .changes(to: .removed)),
        (.delivered, "removal", .changes(to: .removed)),
        (.acknowledged, "removal", .changes(to: .removed)),
        (.unable, "removal", .changes(to: .removed)),
        (.disputed, "removal", .changes(to: .removed)),
        (.verified, "removal", .unchanged),
        (.withdrawn, "removal", .conflict),
        (.expired, "removal", .conflict),
        (.issued, "unable", .changes(to: .unable)),
        (.acknowledged, "unable", .changes(to: .unable)),
        (.unable, "unable", .unchanged),
        (.removed, "unable", .conflict),
        (.disputed, "unable", .conflict),
        (.withdrawn, "unable", .conflict),
        (.issued, "dispute", .changes(to: .disputed)),
        (.unable, "dispute", .changes(to: .disputed)),
        (.disputed, "dispute", .unchanged),
        (.removed, "dispute", .conflict),
        (.expired, "dispute", .conflict),
        (.issued, "withdraw", .changes(to: .withdrawn)),
        (.disputed, "withdraw", .changes(to: .withdrawn)),
        (.withdrawn, "withdraw", .unchanged),
        (.removed, "withdraw", .conflict),
        (.verified, "withdraw", .conflict),
        (.issued, "retrieve", .changes(to: .delivered)),
        (.delivered, "retrieve", .unchanged),
        (.acknowledged, "retrieve", .unchanged),
    ]

    static func answer(_ name: String) -> NoticeAnswer {
        switch name {
        case "acknowledge": return .acknowledge
        case "removal": return .removal(action: .removed, removedAt: nil, urls: nil)
        case "unable": return .unable(reason: "not hosted here")
        case "dispute": return .dispute(reason: "not illegal here")
        case "withdraw": return .withdraw(reason: "issued in error")
        default: return .retrieved
        }
    }

    @Test("each answer in each state", arguments: table.indices)
    func transition(_ index: Int) throws {
        let (status, name, outcome) = Self.table[index]
        var notice = Self.notice(status)
        let before = notice
        let now = Self.start.addingTimeInterval(3600)
        switch outcome {
        case .changes(let next):
            #expect(try notice.apply(Self.answer(name), at: now, actor: "partner:p") == true)
            #expect(notice.status == next)
            #expect(notice.timeline.count == 1)
            #expect(notice.timeline.last?.at == now)
        case .unchanged:
            #expect(try notice.apply(Self.answer(name), at: now, actor: "partner:p") == false)
            #expect(notice == before)
        case .conflict:
            #expect(throws: TransitionError.self) { try notice.apply(Self.answer(name), at: now, actor: "partner:p") }
            #expect(notice == before)
        }
    }

    @Test("acknowledging records the time once")
    func acknowledgedAt() throws {
        var notice = Self.notice(.delivered)
        let first = Self.start.addingTimeInterval(60)
        _ = try notice.apply(.acknowledge, at: first, actor: "p")
        _ = try notice.apply(.acknowledge, at: first.addingTimeInterval(60), actor: "p")
        #expect(notice.acknowledgedAt == first)
        #expect(notice.timeline.map(\.event) == ["acknowledged"])
    }

    @Test("a removal of some items keeps the notice open until every item is gone")
    func partialRemoval() throws {
        let urls = ["https://a.example.com/1", "https://a.example.com/2", "https://a.example.com/3"]
        var notice = Self.notice(.delivered, urls: urls)
        let t1 = Self.start.addingTimeInterval(600)
        let reported = Self.start.addingTimeInterval(500)
        #expect(try notice.apply(.removal(action: .removed, removedAt: reported, urls: [urls[0]]), at: t1, actor: "p"))
        #expect(notice.status == .acknowledged)
        #expect(notice.acknowledgedAt == reported)
        #expect(notice.removedAt == nil)
        #expect(notice.items[0].removedAt == reported)
        // Reporting the same item again changes nothing.
        #expect(
            try notice.apply(.removal(action: .removed, removedAt: nil, urls: [urls[0]]), at: t1, actor: "p") == false)

        let t2 = Self.start.addingTimeInterval(1200)
        #expect(
            try notice.apply(.removal(action: .disabled, removedAt: nil, urls: [urls[1], urls[2]]), at: t2, actor: "p"))
        #expect(notice.status == .removed)
        #expect(notice.removedAt == t2)
        #expect(notice.items.map(\.action) == [.removed, .disabled, .disabled])
        #expect(notice.timeline.map(\.event) == ["removal_reported", "removed"])
    }

    @Test("a removal naming a URL the notice does not carry is refused")
    func unknownURL() {
        var notice = Self.notice(.issued)
        #expect(throws: TransitionError.unknownURLs(["https://elsewhere.test/"])) {
            try notice.apply(
                .removal(action: .removed, removedAt: nil, urls: ["https://elsewhere.test/"]), at: Self.start,
                actor: "p")
        }
        #expect(notice.status == .issued)
    }

    @Test("open states are the ones still waiting for the provider")
    func openStates() {
        #expect(NoticeStatus.allCases.filter(\.isOpen) == [.issued, .delivered, .acknowledged, .unable, .disputed])
    }
}
