/// How much of the outbox one worker may claim when several share it: every worker that claimed within a
/// lease counts as live, and each takes at most an even share of the capacity of the endpoints that have
/// work (due or in flight), so no instance takes every endpoint while the others find nothing. One live
/// worker takes up to its batch. Both stores apply this rule; they only count.
public enum ClaimShare {
    /// The most `owner` may claim now: its batch `requested`, cut to its share less what it holds.
    /// - Parameters:
    ///   - liveWorkers: workers (this one included) that claimed within the last lease.
    ///   - busyEndpoints: endpoints neither paused nor disabled (of partners not suspended) with a due or
    ///     in-flight delivery.
    ///   - ownInFlight: deliveries this worker holds now.
    public static func limit(
        requested: Int, liveWorkers: Int, busyEndpoints: Int, perEndpointCap: Int, ownInFlight: Int
    ) -> Int {
        guard liveWorkers > 1 else { return requested }
        let capacity = busyEndpoints * perEndpointCap
        let share = (capacity + liveWorkers - 1) / liveWorkers
        return max(0, min(requested, share - ownInFlight))
    }
}
