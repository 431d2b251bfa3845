import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A DNS server on 127.0.0.1 for tests: answers A and AAAA questions from a table of names, NXDOMAIN for
/// names marked missing, nothing at all for names marked silent, and whatever bytes a test scripts for a
/// name (hostile answers). It counts the questions each name got.
public final class LoopbackDNSServer: Sendable {
    public enum Answer: Sendable {
        case addresses([String])
        case alias(String)
        case missing
        case silent
        /// The response bytes for a question's id: a test's hostile answer.
        case raw(@Sendable (_ id: UInt16, _ question: [UInt8]) -> [UInt8])
    }

    public let port: Int
    private let socket: Int32
    private let state: State

    final class State: Sendable {
        let table: Mutex<[String: Answer]>
        let asked = Mutex<[String: Int]>([:])
        let stopped = Mutex(false)
        /// Signalled by the serving thread once it has closed the socket.
        let closed = DispatchSemaphore(value: 0)
        init(_ answers: [String: Answer]) { table = Mutex(answers) }
    }

    public init(_ answers: [String: Answer]) throws {
        state = State(answers)
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            close(socket)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.socket = socket
        let state = state
        Thread { Self.serve(socket, state) }.start()
    }

    /// How many questions (A and AAAA each count) `name` got.
    public func questions(for name: String) -> Int { state.asked.withLock { $0[name.lowercased(), default: 0] } }

    public func set(_ name: String, _ answer: Answer) { state.table.withLock { $0[name.lowercased()] = answer } }

    /// Stops answering, and returns once the thread has closed the socket: from then on the port is free,
    /// and a datagram sent to it is refused rather than queued for a socket nobody reads.
    public func stop() {
        let first = state.stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        _ = state.closed.wait(timeout: .now() + 5)
    }

    deinit { stop() }

    private static func serve(_ socket: Int32, _ state: State) {
        var buffer = [UInt8](repeating: 0, count: 1_500)
        while true {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(socket, raw.baseAddress, raw.count, 0, $0, &peerLength)
                    }
                }
            }
            guard count > 0 else {
                close(socket)
                state.closed.signal()
                return
            }
            let query = Array(buffer[..<count])
            guard let (name, type, questionEnd) = question(query) else { continue }
            state.asked.withLock { $0[name, default: 0] += 1 }
            let id = UInt16(query[0]) << 8 | UInt16(query[1])
            let response: [UInt8]?
            switch state.table.withLock({ $0[name] }) {
            case .addresses(let texts): response = answer(query, questionEnd, records: records(texts, type))
            case .alias(let target):
                var data: [UInt8] = []
                for label in target.split(separator: ".") { data += [UInt8(label.utf8.count)] + Array(label.utf8) }
                data.append(0)
                let targetAnswer = state.table.withLock { $0[target] }
                var extra: [(UInt16, [UInt8], [UInt8])] = [(5, [0xC0, 12], data)]
                if case .addresses(let texts) = targetAnswer {
                    // The target's records, owned by the target name written out in full.
                    extra += records(texts, type).map { (type, data, $0.2) }
                }
                response = answer(query, questionEnd, records: extra)
            case .missing: response = header(query, questionEnd, rcode: 3, answers: 0)
            case .silent: response = nil
            case .raw(let script): response = script(id, Array(query[12..<questionEnd]))
            case nil: response = header(query, questionEnd, rcode: 3, answers: 0)
            }
            guard let response else { continue }
            _ = response.withUnsafeBytes { raw in
                withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socket, raw.baseAddress, raw.count, 0, $0, peerLength)
                    }
                }
            }
        }
    }

    /// The question's name (lower case), type and where it ends.
    static func question(_ query: [UInt8]) -> (String, UInt16, Int)? {
        guard query.count > 12 else { return nil }
        var labels: [String] = []
        var position = 12
        while position < query.count, query[position] != 0 {
            let count = Int(query[position])
            guard count < 64, position + 1 + count < query.count else { return nil }
            labels.append(String(decoding: query[(position + 1)...(position + count)], as: UTF8.self).lowercased())
            position += count + 1
        }
        guard position + 5 <= query.count else { return nil }
        let type = UInt16(query[position + 1]) << 8 | UInt16(query[position + 2])
        return (labels.joined(separator: "."), type, position + 5)
    }

    static func records(_ texts: [String], _ type: UInt16) -> [(UInt16, [UInt8], [UInt8])] {
        texts.compactMap { text in
            var v4 = in_addr()
            var v6 = in6_addr()
            if type == 1, inet_pton(AF_INET, text, &v4) == 1 {
                return (1, [0xC0, 12], withUnsafeBytes(of: &v4) { Array($0) })
            }
            if type == 28, inet_pton(AF_INET6, text, &v6) == 1 {
                return (28, [0xC0, 12], withUnsafeBytes(of: &v6) { Array($0) })
            }
            return nil
        }
    }

    static func header(_ query: [UInt8], _ questionEnd: Int, rcode: UInt8, answers: Int) -> [UInt8] {
        [query[0], query[1], 0x81, 0x80 | rcode, 0, 1, UInt8(answers >> 8), UInt8(answers & 0xFF), 0, 0, 0, 0]
            + query[12..<questionEnd]
    }

    static func answer(_ query: [UInt8], _ questionEnd: Int, records: [(UInt16, [UInt8], [UInt8])]) -> [UInt8] {
        var bytes = header(query, questionEnd, rcode: 0, answers: records.count)
        for (type, owner, data) in records {
            bytes += owner
            bytes += [
                UInt8(type >> 8), UInt8(type & 0xFF), 0, 1, 0, 0, 0x0E, 0x10, UInt8(data.count >> 8),
                UInt8(data.count & 0xFF),
            ]
            bytes += data
        }
        return bytes
    }
}
