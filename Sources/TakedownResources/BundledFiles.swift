import Foundation

/// The package's `Templates/` and `Schemas/` as built into the binary (by the `EmbedFiles` plugin), so the
/// gateway runs from any folder. A folder named in the settings still overrides them.
public enum BundledFiles {
    /// Every bundled file's text by its path in the repository, such as `Templates/notice.en.mustache`.
    public static let all: [String: String] = embeddedFiles

    /// The files of one folder by name, such as `notice.en.mustache` in `Templates`.
    public static func folder(_ name: String) -> [String: String] {
        var files: [String: String] = [:]
        for (path, text) in all where path.hasPrefix(name + "/") {
            files[String(path.dropFirst(name.count + 1))] = text
        }
        return files
    }

    /// The OpenAPI document the gateway serves at `/openapi.json`.
    public static var openAPI: Data { Data(all["Schemas/openapi.json", default: ""].utf8) }
}
