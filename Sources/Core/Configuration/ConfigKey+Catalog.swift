/// Every configuration key of the suite. The README's configuration table is printed from here
/// (`switchboard config`), and a test keeps the two in step.
extension ConfigKey {
    // MARK: Every service

    public static let host = ConfigKey("SWITCHBOARD_HOST", default: "127.0.0.1", .nonEmpty, "Address to listen on (0.0.0.0 inside containers)")
    public static func port(default value: Int) -> ConfigKey {
        ConfigKey("SWITCHBOARD_PORT", default: String(value), .integer(1...65535), "TCP port to listen on")
    }
    public static let logLevel = ConfigKey(
        "SWITCHBOARD_LOG_LEVEL", default: "info", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]),
        "Lowest level written to the JSON-lines log on stderr"
    )
    public static let serviceSecret = ConfigKey(
        "SWITCHBOARD_SERVICE_SECRET", default: "", .string,
        "Shared secret the services use to call each other's /v1 APIs (the supervisor generates one); empty locks /v1",
        secret: true
    )
    public static let shutdownGrace = ConfigKey(
        "SWITCHBOARD_SHUTDOWN_GRACE", default: "10s", .duration,
        "How long SIGTERM/SIGINT waits for in-flight requests before cancelling them"
    )
    public static let replica = ConfigKey("SWITCHBOARD_REPLICA", default: "1", .integer(1...10_000), "Replica slot number (set by the supervisor)")

    /// Keys every service reads, with its own default port.
    public static func common(port: Int) -> [ConfigKey] {
        [.host, .port(default: port), .logLevel, .serviceSecret, .shutdownGrace, .replica]
    }

    // MARK: Gateway

    public static let toolsURL = ConfigKey(
        "SWITCHBOARD_TOOLS_URL", default: "http://127.0.0.1:8081", .urlList,
        "Tool-service replicas the gateway routes tools/call to"
    )
    public static let learnURL = ConfigKey(
        "SWITCHBOARD_LEARN_URL", default: "http://127.0.0.1:8090", .string,
        "Learn service that receives call telemetry and serves the routing and cache policy (empty: both off)"
    )
    public static let apiKeys = ConfigKey(
        "SWITCHBOARD_API_KEYS", default: "", .list,
        "Accepted client API keys as principal:sha256-hex entries (keys are stored hashed only)",
        secret: true
    )
    public static let maxBodySize = ConfigKey(
        "SWITCHBOARD_MAX_BODY", default: "4MiB", .byteSize, "Largest request body accepted; bigger bodies get 413 before being read"
    )
    public static let toolTimeout = ConfigKey(
        "SWITCHBOARD_TOOL_TIMEOUT", default: "120s", .duration, "Longest a tools/call may take at the gateway"
    )

    public static let toolsDiscovery = ConfigKey(
        "SWITCHBOARD_TOOLS_DISCOVERY", default: "auto", .choice(["auto", "static", "supervisor", "dns"]),
        "How the gateway finds tool-service replicas: static (SWITCHBOARD_TOOLS_URL), supervisor (healthy replicas from its control API, drained before they stop), dns (tasks.<service> under Docker Swarm); auto is supervisor when SWITCHBOARD_SUPERVISOR_URL is set, else static"
    )
    public static let toolsService = ConfigKey(
        "SWITCHBOARD_TOOLS_SERVICE", default: "tools", .nonEmpty,
        "The tool service's name: asked of the supervisor, or resolved as tasks.<name> (port and scheme from SWITCHBOARD_TOOLS_URL)"
    )
    public static let allowedHosts = ConfigKey(
        "SWITCHBOARD_ALLOWED_HOSTS", default: "localhost,127.0.0.1,[::1]", .list,
        "Host header values the MCP endpoints accept (DNS-rebinding protection; an entry without a port allows any port; * allows all); others get 421"
    )
    public static let allowedOrigins = ConfigKey(
        "SWITCHBOARD_ALLOWED_ORIGINS", default: "http://localhost,http://127.0.0.1,http://[::1]", .list,
        "Origin header values the MCP endpoints accept when a browser sends one (an entry without a port allows any port; * allows all); others get 403"
    )
    public static let sessionTTL = ConfigKey(
        "SWITCHBOARD_SESSION_TTL", default: "7d", .duration,
        "Lifetime of a signed Mcp-Session-Id (handshake-era sessions need no server state and survive restarts)"
    )
    public static let pageSize = ConfigKey(
        "SWITCHBOARD_PAGE_SIZE", default: "100", .integer(1...10_000), "Tools per tools/list page (the rest follow through nextCursor)"
    )
    public static let stdio = ConfigKey(
        "SWITCHBOARD_STDIO", default: "false", .boolean,
        "Serve MCP on stdin/stdout (newline-delimited JSON-RPC, logs on stderr) instead of HTTP, for clients that launch the gateway"
    )

    public static let redisURL = ConfigKey(
        "SWITCHBOARD_REDIS_URL", default: "", .string,
        "Redis for the result cache, rate limits and shared state: redis://[user:password@]host:port/db or unix:///path/redis.sock (empty: all in-process)",
        secret: true
    )
    public static let redisPool = ConfigKey(
        "SWITCHBOARD_REDIS_POOL", default: "4", .integer(1...64), "Redis connections per gateway process, each on its own thread"
    )
    public static let redisTimeout = ConfigKey(
        "SWITCHBOARD_REDIS_TIMEOUT", default: "500ms", .duration,
        "Longest a Redis connect or command may take; after a failure calls skip Redis (backing off 100ms to 5s) until it answers again"
    )
    public static let cacheTTL = ConfigKey(
        "SWITCHBOARD_CACHE_TTL", default: "30s", .duration,
        "How long results of tools annotated read-only or idempotent are cached (0: only tools listed in SWITCHBOARD_CACHE_TOOLS)"
    )
    public static let cacheTools = ConfigKey(
        "SWITCHBOARD_CACHE_TOOLS", default: "get_system_status=0", .list,
        "Per-tool cache TTLs as tool=TTL or tool=TTL:shared (0 turns caching off; shared: one entry for all principals); listed tools are cached even without annotations"
    )
    public static let cacheMaxResult = ConfigKey(
        "SWITCHBOARD_CACHE_MAX_RESULT", default: "1MiB", .byteSize, "Largest tool result the cache stores"
    )
    public static let cacheMemory = ConfigKey(
        "SWITCHBOARD_CACHE_MEMORY", default: "64MiB", .byteSize,
        "Result bytes the in-process cache (no Redis) holds before evicting the least recently used"
    )
    public static let cacheWarm = ConfigKey(
        "SWITCHBOARD_CACHE_WARM", default: "", .string,
        "JSON file of calls to keep cached, [{\"tool\":…,\"arguments\":{…},\"principal\":…}] (empty: no warming)"
    )
    public static let rateLimits = ConfigKey(
        "SWITCHBOARD_RATE_LIMITS", default: "", .list,
        "Token-bucket limits as SCOPE[@TOOL]=COUNT/PERIOD[:BURST] with SCOPE principal, tool or principal-tool, e.g. principal=600/1m (empty: no limits)"
    )
    public static let rateLimitOutage = ConfigKey(
        "SWITCHBOARD_RATE_LIMIT_OUTAGE", default: "read-only-open", .choice(["read-only-open", "open", "closed", "local"]),
        "What rate limits do while Redis is unreachable: read-only-open (allow read-only tools, refuse others), open, closed, or local (per-replica buckets)"
    )

    public static var gateway: [ConfigKey] {
        common(port: 8080) + [
            .toolsURL, .learnURL, .apiKeys, .maxBodySize, .toolTimeout, .toolsDiscovery, .toolsService, .supervisorURL,
            .allowedHosts, .allowedOrigins, .sessionTTL, .pageSize, .stdio,
            .workspace, .redisURL, .redisPool, .redisTimeout, .cacheTTL, .cacheTools, .cacheMaxResult, .cacheMemory, .cacheWarm,
            .rateLimits, .rateLimitOutage,
        ]
    }

    // MARK: Tool service

    public static let workspace = ConfigKey(
        "SWITCHBOARD_WORKSPACE", default: ".", .nonEmpty,
        "Workspace root that file tools and commands are confined to when the policy file names no roots (never /)"
    )
    public static let policyFile = ConfigKey(
        "SWITCHBOARD_POLICY_FILE", default: "", .string,
        "Security policy (JSON, see docs/operations.md); reloaded on change and on SIGHUP; empty: the safe defaults"
    )
    public static let auditLog = ConfigKey(
        "SWITCHBOARD_AUDIT_LOG", default: "~/.local/state/switchboard/tools-audit-{replica}.jsonl", .nonEmpty,
        "Audit log of every tool call and denial (JSON lines; {replica} is replaced; must be outside the writable roots)"
    )
    public static let auditMaxSize = ConfigKey(
        "SWITCHBOARD_AUDIT_MAX_SIZE", default: "10MiB", .byteSize, "Size at which the audit log is rotated (five files are kept)"
    )

    public static let conformanceFixtures = ConfigKey(
        "SWITCHBOARD_CONFORMANCE_FIXTURES", default: "false", .boolean,
        "Also serve the MCP conformance-suite fixture tools (test_simple_text, …); for tests only, never in production"
    )

    public static var toolService: [ConfigKey] {
        common(port: 8081) + [.workspace, .policyFile, .auditLog, .auditMaxSize, .conformanceFixtures]
    }

    // MARK: Learn service

    public static let learnQueue = ConfigKey(
        "SWITCHBOARD_LEARN_QUEUE", default: "65536", .integer(16...10_000_000), "Telemetry events held before new ones are dropped"
    )

    public static let learnStateDirectory = ConfigKey(
        "SWITCHBOARD_LEARN_STATE_DIR", default: "", .string,
        "Directory for model checkpoints, restored on start (empty: versions kept in memory only)"
    )
    public static let learnCheckpointInterval = ConfigKey(
        "SWITCHBOARD_LEARN_CHECKPOINT_INTERVAL", default: "60s", .duration, "How often learned models are checkpointed as a new version"
    )
    public static let learnCheckpointsKept = ConfigKey(
        "SWITCHBOARD_LEARN_CHECKPOINTS_KEPT", default: "20", .integer(1...10_000), "Model versions kept for rollback; older ones are deleted"
    )
    public static let learnProbation = ConfigKey(
        "SWITCHBOARD_LEARN_PROBATION", default: "750", .integer(16...1_000_000),
        "Observations an anomaly detector learns from before it reports (NAB's probation)"
    )
    public static let learnMaxSeries = ConfigKey(
        "SWITCHBOARD_LEARN_MAX_SERIES", default: "256", .integer(1...100_000),
        "Most anomaly series (latency, error rate per tool and replica) tracked; later ones are not watched"
    )
    public static let learnForecastBucket = ConfigKey(
        "SWITCHBOARD_LEARN_FORECAST_BUCKET", default: "5m", .duration, "Length of the call-count buckets load forecasts are made over"
    )
    public static let learnPublishInterval = ConfigKey(
        "SWITCHBOARD_LEARN_PUBLISH_INTERVAL", default: "1s", .duration, "Shortest time between two published policy versions"
    )

    public static let learnPostgresURL = ConfigKey(
        "SWITCHBOARD_LEARN_POSTGRES_URL", default: "", .string,
        "PostgreSQL for model checkpoints as well as the state directory: postgresql://[user[:password]@]host[:port]/db or a libpq key=value string (empty: none)",
        secret: true
    )

    public static var learnService: [ConfigKey] {
        common(port: 8090) + [
            .learnQueue, .learnStateDirectory, .learnCheckpointInterval, .learnCheckpointsKept, .learnProbation, .learnMaxSeries,
            .learnForecastBucket, .learnPublishInterval, .learnPostgresURL,
        ]
    }

    // MARK: Metrics service

    public static let supervisorURL = ConfigKey(
        "SWITCHBOARD_SUPERVISOR_URL", default: "", .string, "Supervisor control API to discover replicas from (metrics: empty uses SWITCHBOARD_SCRAPE_TARGETS; gateway: see SWITCHBOARD_TOOLS_DISCOVERY)"
    )
    public static let scrapeTargets = ConfigKey(
        "SWITCHBOARD_SCRAPE_TARGETS", default: "", .list, "Static scrape targets as service=host:port entries"
    )

    public static let scrapeDNS = ConfigKey(
        "SWITCHBOARD_SCRAPE_DNS", default: "", .list, "DNS discovery when no supervisor is set: name:port entries (tasks.<service> under Swarm, <service> under docker compose)"
    )
    public static let scrapeInterval = ConfigKey("SWITCHBOARD_SCRAPE_INTERVAL", default: "5s", .duration, "How often every replica's /metrics is scraped")
    public static let history = ConfigKey("SWITCHBOARD_HISTORY", default: "30m", .duration, "How much scraped history the metrics service keeps in memory")
    public static let alertRules = ConfigKey(
        "SWITCHBOARD_ALERT_RULES", default: "compose/prometheus/alerts.yml", .string, "Prometheus rule file the metrics service evaluates (empty: no alerts)"
    )
    public static let alertInterval = ConfigKey("SWITCHBOARD_ALERT_INTERVAL", default: "15s", .duration, "How often alert rules are evaluated")
    public static let alertWebhooks = ConfigKey(
        "SWITCHBOARD_ALERT_WEBHOOKS", default: "", .list, "Where alerts are sent: slack=<url> and/or alertmanager=<url> entries"
    )
    public static let dashboardFile = ConfigKey(
        "SWITCHBOARD_DASHBOARD", default: "compose/grafana/dashboards/switchboard.json", .string,
        "Grafana dashboard whose panels the built-in dashboard page renders"
    )

    public static var metricsService: [ConfigKey] {
        common(port: 9091) + [.supervisorURL, .scrapeTargets, .scrapeDNS, .scrapeInterval, .history, .alertRules, .alertInterval, .alertWebhooks, .dashboardFile]
    }

    // MARK: Supervisor

    public static let composeFile = ConfigKey(
        "SWITCHBOARD_COMPOSE_FILE", default: "compose/docker-compose.yml", .nonEmpty, "Compose file the supervisor reads"
    )
    public static let stateDirectory = ConfigKey(
        "SWITCHBOARD_STATE_DIR", default: ".switchboard", .nonEmpty, "Where the supervisor keeps logs, pids and generated secrets"
    )
    public static let controlPort = ConfigKey(
        "SWITCHBOARD_CONTROL_PORT", default: "7070", .integer(1...65535), "Supervisor control API port (loopback only)"
    )
    public static let apiKey = ConfigKey(
        "SWITCHBOARD_API_KEY", default: "", .string, "Client API key for the gateway (default: generated into the state directory)", secret: true
    )

    public static var supervisor: [ConfigKey] {
        [.composeFile, .stateDirectory, .controlPort, .apiKey, .logLevel]
    }

    /// Every service's keys, for the documentation table.
    public static var catalog: [(service: String, keys: [ConfigKey])] {
        [("gateway", gateway), ("tools", toolService), ("learn", learnService), ("metrics", metricsService), ("supervisor", supervisor)]
    }

    /// The configuration table in Markdown, one row per key and service group.
    public static var markdownTable: String {
        var lines = ["| variable | flag | default | services | meaning |", "|---|---|---|---|---|"]
        var seen: [String: Int] = [:]
        var rows: [(key: ConfigKey, defaults: [String], services: [String])] = []
        for (service, keys) in catalog {
            for key in keys {
                if let index = seen[key.name] {
                    rows[index].services.append(service)
                    if !rows[index].defaults.contains(key.defaultValue) { rows[index].defaults.append(key.defaultValue) }
                } else {
                    seen[key.name] = rows.count
                    rows.append((key, [key.defaultValue], [service]))
                }
            }
        }
        for row in rows {
            let defaults = row.defaults.map { $0.isEmpty ? "(unset)" : "`\($0)`" }.joined(separator: " / ")
            lines.append("| `\(row.key.name)` | `\(row.key.flag)` | \(defaults) | \(row.services.joined(separator: ", ")) | \(row.key.summary); \(row.key.kind.expectation) |")
        }
        return lines.joined(separator: "\n")
    }
}
