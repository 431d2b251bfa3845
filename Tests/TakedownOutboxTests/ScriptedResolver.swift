import Synchronization
import TakedownModel
import TakedownOutbox

/// A DNS server in the test's hands: per host, a queue of answers (the last one repeats), and a count
/// of every lookup, so a test can tell that a name was resolved once and never again behind its back.
final class ScriptedResolver: HostResolver {
    private let answers = Mutex<[String: [HostLookup]]>([:])
    private let asked = Mutex<[String]>([])
    /// Answers for hosts without a script (nil: the name does not exist).
    let fallback: HostLookup?

    init(fallback: HostLookup? = nil) {
        self.fallback = fallback
    }

    /// Queues answers for `host`; once they are used up the last one is given again.
    func script(_ host: String, _ lookups: HostLookup...) {
        answers.withLock { $0[host, default: []] += lookups }
    }

    /// Queues one answer of addresses for `host`.
    func answer(_ host: String, _ addresses: String...) {
        script(host, .addresses(addresses.map { IPAddress($0)! }))
    }

    /// Every host looked up, in order.
    var lookups: [String] { asked.withLock { $0 } }
    func lookups(of host: String) -> Int { lookups.filter { $0 == host }.count }

    func lookup(_ host: String) async -> HostLookup {
        asked.withLock { $0.append(host) }
        return answers.withLock { queue in
            guard var scripted = queue[host], let first = scripted.first else { return fallback ?? .nameNotFound }
            if scripted.count > 1 {
                scripted.removeFirst()
                queue[host] = scripted
            }
            return first
        }
    }
}
