import AsyncHTTPClient
import NIOHTTP1
import SwitchboardCore

/// Load forecasts from the learn service's policy: `GET /v1/policy` with the service secret, polled with
/// `If-None-Match` so an unchanged policy costs a `304`. The `*` (all calls) forecast is used. While the
/// learn service is away the last policy fetched stays in use for `validity` (the hour its peak covers);
/// after that, or before any policy arrived, the autoscaler is reactive only and says why.
actor LearnServiceForecasts: LoadForecastSource {
    static let policyPath = "/v1/policy"
    /// The policy's forecast key of all calls together.
    static let total = "*"

    private let client: ServiceClient
    /// Shortest time between two polls (every autoscaled service asks once per `sync_period`).
    private let pollInterval: Duration
    /// How long a fetched forecast is used when the policy can no longer be refreshed.
    private let validity: Duration
    private var etag: String?
    private var latest: (forecast: LoadForecast?, confirmed: ContinuousClock.Instant)?
    private var lastPoll: ContinuousClock.Instant?
    private var failure: String?

    init(baseURL: String, secret: String, pollInterval: Duration = .seconds(1), validity: Duration = .seconds(3600)) {
        client = ServiceClient(baseURL: baseURL, httpClient: .shared, secret: secret, timeout: .seconds(2), maxResponseBytes: 8 << 20)
        self.pollInterval = pollInterval
        self.validity = validity
    }

    func forecast(service: String) async -> Result<LoadForecast, LoadForecast.Unavailable> {
        let now = ContinuousClock.now
        await poll(now: now)
        guard let latest, now - latest.confirmed < validity else {
            return .failure(.init(reason: failure.map { "learn service unavailable (\($0))" } ?? "no policy from the learn service yet"))
        }
        guard let forecast = latest.forecast else {
            return .failure(.init(reason: "the learn service's policy has no '\(Self.total)' forecast yet"))
        }
        return .success(forecast)
    }

    /// Fetches the policy unless it was asked for within `pollInterval`.
    private func poll(now: ContinuousClock.Instant) async {
        if let lastPoll, now - lastPoll < pollInterval { return }
        lastPoll = now
        let response: ServiceResponse
        do {
            response = try await client.send(.GET, Self.policyPath, headers: etag.map { [("If-None-Match", $0)] } ?? [])
        } catch {
            failure = error.description
            return
        }
        switch response.status {
        case 304 where latest != nil:
            latest?.confirmed = now
            failure = nil
        case 200:
            do {
                latest = (Self.forecast(in: try response.json()), now)
                etag = response.headers.first(name: "ETag")
                failure = nil
            } catch {
                failure = "\(client.baseURL)\(Self.policyPath): unreadable policy: \(error)"
            }
        default:
            failure = "\(client.baseURL)\(Self.policyPath): HTTP \(response.status)"
        }
    }

    /// The `*` forecast of a policy document (docs/operations.md, "Policy JSON").
    static func forecast(in policy: JSONValue) -> LoadForecast? {
        guard let entry = policy["forecasts"]?[total], let peak = entry["peak_calls_per_second_1h"]?.doubleValue else { return nil }
        return LoadForecast(
            callsPerSecond: entry["calls_per_second"]?.doubleValue ?? peak, peakCallsPerSecond: peak, policyVersion: policy["version"]?.intValue.map(Int.init)
        )
    }
}
