# Marquee images, Debian 12 like the build machines.
#   docker build -t marquee .                    # runtime image (default: last stage)
#   docker build --target producer -t marquee-producer .
# Stages: build (toolchain + -dev packages), producer (kcat + MovieLens replay
# scripts for the demo), runtime (debian:12-slim + only the shared libraries
# the binary loads). docker-compose.yml builds both targets.

# ---- build ------------------------------------------------------------------
FROM debian:12 AS build
ARG DEBIAN_FRONTEND=noninteractive
# Never start services from package scripts inside an image build.
RUN printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
# The package list is scripts/dev.sh's PACKAGES array, read from the script
# itself so the image and the build machines can never drift apart.
COPY scripts/dev.sh /tmp/dev.sh
RUN bash -c 'set -euo pipefail; eval "$(sed -n "/^PACKAGES=(/,/^)/p" /tmp/dev.sh)"; \
      ((${#PACKAGES[@]})) || { echo "no PACKAGES in dev.sh" >&2; exit 1; }; \
      apt-get update -q; \
      apt-get install -y -q --no-install-recommends "${PACKAGES[@]}"; \
      rm -rf /var/lib/apt/lists/*'
WORKDIR /src
COPY . .
ARG BUILD_TYPE=RelWithDebInfo
# The image's marquee_build_info{commit} (.git is not in the build context):
# docker-compose.yml passes GIT_COMMIT from the environment.
ARG GIT_COMMIT=unknown
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DMARQUEE_COMMIT="$GIT_COMMIT" \
 && cmake --build /build --target marquee -j"$(nproc)" \
 && strip --strip-debug /build/app/marquee \
 && /build/app/marquee --help >/dev/null \
 && deploy/docker/runtime-packages.sh /build/app/marquee > /build/runtime-packages.txt \
 && cat /build/runtime-packages.txt

# ---- producer (demo only) ---------------------------------------------------
FROM debian:12-slim AS producer
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends kcat curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY data/ml-latest-small/ratings.csv data/ml-latest-small/movies.csv /data/ml-latest-small/
COPY deploy/producer/replay.sh deploy/producer/traffic.sh /usr/local/bin/
USER nobody
CMD ["replay.sh"]

# ---- runtime ----------------------------------------------------------------
FROM debian:12-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
COPY --from=build /build/runtime-packages.txt /tmp/runtime-packages.txt
# ca-certificates: for librdkafka when the cluster uses SSL/SASL_SSL.
RUN apt-get update -q \
 && xargs -a /tmp/runtime-packages.txt apt-get install -y -q --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/marquee --no-create-home marquee \
 && mkdir -p /var/lib/marquee && chown marquee:marquee /var/lib/marquee
COPY --from=build /build/app/marquee /usr/local/bin/marquee
# No curl in a slim image: the health check is a bash /dev/tcp HTTP probe
# (see deploy/docker/healthcheck.sh for why). Liveness here; compose probes /readyz.
COPY deploy/docker/healthcheck.sh /usr/local/bin/marquee-healthcheck
USER marquee
WORKDIR /var/lib/marquee
VOLUME ["/var/lib/marquee"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/marquee-healthcheck", "/healthz"]
# marquee handles SIGTERM itself (stop polling, commit, flush RocksDB, exit 0).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/marquee"]
CMD ["run", "--brokers", "kafka:9092", "--listen", "0.0.0.0", "--data-dir", "/var/lib/marquee"]
