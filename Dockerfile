# Switchboard images: one build stage, one slim runtime target per service.
#   docker build --target gateway -t switchboard/gateway:0.1.0 .
# Targets: gateway, tools, learn, metrics, supervisor.

FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis-dev libpq-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY compose ./compose
RUN swift build -c release --static-swift-stdlib \
    && mkdir /out && cp .build/release/Gateway .build/release/ToolService .build/release/LearnService \
       .build/release/MetricsService .build/release/switchboard /out/

FROM debian:bookworm-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/switchboard/switchboard"
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis0.14 libpq5 libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/switchboard --create-home switchboard
ENV SWITCHBOARD_HOST=0.0.0.0
USER switchboard
WORKDIR /var/lib/switchboard

FROM runtime AS gateway
COPY --from=build /out/Gateway /usr/local/bin/Gateway
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s CMD ["Gateway", "healthcheck"]
ENTRYPOINT ["Gateway"]

FROM runtime AS tools
COPY --from=build /out/ToolService /usr/local/bin/ToolService
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s CMD ["ToolService", "healthcheck"]
ENTRYPOINT ["ToolService"]

FROM runtime AS learn
COPY --from=build /out/LearnService /usr/local/bin/LearnService
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s CMD ["LearnService", "healthcheck"]
ENTRYPOINT ["LearnService"]

FROM runtime AS metrics
COPY --from=build /out/MetricsService /usr/local/bin/MetricsService
COPY compose/prometheus /etc/switchboard/prometheus
COPY compose/grafana/dashboards /etc/switchboard/grafana/dashboards
ENV SWITCHBOARD_ALERT_RULES=/etc/switchboard/prometheus/alerts.yml \
    SWITCHBOARD_DASHBOARD=/etc/switchboard/grafana/dashboards/switchboard.json
EXPOSE 9091
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s CMD ["MetricsService", "healthcheck"]
ENTRYPOINT ["MetricsService"]

FROM runtime AS supervisor
COPY --from=build /out/ /usr/local/bin/
ENTRYPOINT ["switchboard"]
