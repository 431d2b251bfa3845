import ArgumentParser
import Foundation
import TakedownServer
import TakedownSigning

/// Manages the notice signing keys in the data folder.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, rotate and list notice signing keys.", subcommands: [Create.self, Rotate.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the first signing key if there is none.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            var ring = try KeyRing(directory: try store.settings().keysDirectory)
            if let active = ring.active {
                print("an active key exists already: \(active.kid)")
                return
            }
            print("created \(try ring.ensureKey(at: Date()).kid)")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new active key; older keys stay published so their notices still verify.",
            discussion: "A running gateway picks the new key up when it is restarted.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            var ring = try KeyRing(directory: try store.settings().keysDirectory)
            print("active \(try ring.rotate(at: Date()).kid)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys: id, state, creation and retirement.")
        @OptionGroup var store: StoreOptions

        func run() throws {
            let ring = try KeyRing(directory: try store.settings().keysDirectory)
            for key in ring.keys {
                let state = key.retiredAt == nil ? "active " : "retired"
                let retired = key.retiredAt.map { " retired \($0.formatted(.iso8601))" } ?? ""
                print("\(key.kid)  \(state)  created \(key.createdAt.formatted(.iso8601))\(retired)")
            }
        }
    }
}
