import Foundation

/// Key files are readable by their owner only: the gateway refuses to start with one that group or others
/// may read or change.
public enum KeyFile {
    /// Throws `KeyFileError.exposed` when the file at `path` has any group or other permission bit.
    public static func checkOwnerOnly(_ path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        if mode & 0o077 != 0 { throw KeyFileError.exposed(path: path, mode: mode) }
    }

    /// Writes `data` as a new owner-only file at `url` unless one exists there already (another process
    /// starting at the same moment), never leaving half a file. Returns whether it wrote.
    @discardableResult
    public static func createExclusively(_ data: Data, at url: URL) throws -> Bool {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown) }
        defer { try? FileManager.default.removeItem(at: temporary) }
        // link(2) fails when the name exists, unlike rename: the first writer wins, the others read its key.
        guard link(temporary.path, url.path) == 0 else {
            if errno == EEXIST { return false }
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        return true
    }
}

extension KeyFile {
    /// Runs `body` holding an exclusive lock on `.lock` in `directory`, so processes sharing the folder
    /// (instances started together) create a first key one after the other.
    public static func withLock<T>(in directory: URL, _ body: () throws -> T) throws -> T {
        let path = directory.appendingPathComponent(".lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else {
            throw CocoaError(.fileLocking, userInfo: [NSFilePathErrorKey: path])
        }
        defer { flock(descriptor, LOCK_UN) }
        return try body()
    }
}

public enum KeyFileError: Error, CustomStringConvertible, Equatable {
    case exposed(path: String, mode: Int)

    public var description: String {
        switch self {
        case .exposed(let path, let mode):
            return "the key file \(path) is readable by group or others (mode \(String(mode & 0o777, radix: 8))); "
                + "key files must be owner-only: run `chmod 600 \(path)` and start again"
        }
    }
}
