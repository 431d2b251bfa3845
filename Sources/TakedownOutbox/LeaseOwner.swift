import Foundation

/// Lease owners are `host/pid/instance/namespace`: the host name (for people reading), the process id, a
/// random number drawn once per process, and the PID namespace the pid belongs to (on Linux the kernel's
/// boot id and the namespace's inode).
///
/// A pid means something only inside its namespace. The same host name and pid in another container, or
/// on another machine, is another process that may well be alive, so only an owner of this process's own
/// namespace is ever judged dead here; every other lease is left to expire.
public enum LeaseOwner {
    public static let current = owner(
        host: ProcessInfo.processInfo.hostName, pid: getpid(), instance: UInt32.random(in: .min ... .max),
        namespace: localNamespace ?? "unknown")

    /// The PID namespace of this process, or nil where the platform does not say (then no lease is taken
    /// before it expires).
    public static let localNamespace: String? = {
        #if os(Linux)
            guard
                let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines),
                !boot.isEmpty, !boot.contains("/"),
                let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"),
                let inode = link.split(whereSeparator: { !$0.isNumber }).first
            else { return nil }
            return "\(boot).\(inode)"
        #else
            return nil
        #endif
    }()

    public static func owner(host: String, pid: Int32, instance: UInt32, namespace: String) -> String {
        "\(host)/\(pid)/\(instance)/\(namespace)"
    }

    /// Whether `owner` is a process of this PID namespace that no longer exists: its pid is gone, or is
    /// this process's while the instance differs (an earlier process whose pid was reused).
    public static func isDeadLocalProcess(_ owner: String) -> Bool {
        let parts = owner.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, let namespace = localNamespace, parts[3] == namespace, let pid = Int32(parts[1]),
            pid > 0, owner != current
        else { return false }
        if pid == getpid() { return true }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
