#!/usr/bin/env bash
# The two-command quickstart on Debian 12:
#   scripts/dev.sh demo    install what is missing, build, run the MovieLens demo
#   scripts/dev.sh test    install what is missing, build, run every test suite
# Also: `build` (install + build only), `deps` (install only), `tsan` (the
# unit and integration suites under ThreadSanitizer, in $BUILD_DIR-tsan).
# Environment: BUILD_DIR (default build), BUILD_TYPE (default RelWithDebInfo),
#              CTEST_ARGS (extra ctest arguments, e.g. "-L unit"),
#              KAFKA_BROKER_REQUIRED (default 1 in `test`: the real-broker
#              suites fail, not skip, when Kafka cannot be fetched or run),
#              SANITIZE (default 1: `test` also runs the unit and integration
#              suites built with AddressSanitizer + UBSan, in $BUILD_DIR-sanitize).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"

# Debian 12 packages. Boost is pinned to 1.81 (Beast, JSON, unordered_flat_map);
# never mix in the unversioned 1.74 -dev packages, they conflict.
PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache git
  librdkafka-dev librocksdb-dev libeigen3-dev libboost1.81-dev libboost-json1.81-dev
  prometheus-cpp-dev libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libxxhash-dev libgtest-dev libgmock-dev
  kcat curl            # end-to-end tests: a real Kafka client and a real HTTP client
  python3-yaml prometheus  # deploy tests: compose/provisioning YAML, promtool, a real Prometheus server
  wrk                  # serving benchmark (bench/serve/run.sh): closed-loop HTTP load
  libbenchmark-dev     # bench/bandits, bench/models (Google Benchmark)
)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else
    echo "dev.sh: installing packages needs root, and sudo is not installed (Debian leaves it out when a" >&2
    echo "        root password is set): run 'scripts/dev.sh deps' as root once, or install sudo" >&2
    exit 1
  fi
}

install_deps() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  # The real-broker test runs Kafka from Maven Central jars; it needs a JRE and Maven.
  command -v java >/dev/null || missing+=(default-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}" >&2
    as_root apt-get update -q
    # --no-remove: apt would otherwise remove what conflicts without asking
    # (libboost1.74-dev, and libboost-all-dev with it, on a developer's machine).
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-remove \
      "${missing[@]}"; then
      echo "dev.sh: apt-get refused to install ${missing[*]} without removing other packages (often" >&2
      echo "        libboost1.74-dev or libboost-all-dev, which conflict with Boost 1.81): remove those, or build" >&2
      echo "        in a clean Debian 12 container" >&2
      exit 1
    fi
    # Debian's package starts a system-wide Prometheus on :9090; the tests
    # run their own, and docker compose's would find the port taken.
    if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null &&
      systemctl is-enabled --quiet prometheus 2>/dev/null; then
      echo "dev.sh: disabling the prometheus service the package started (tests run their own)" >&2
      as_root systemctl disable --now prometheus || true
    fi
  fi
}

build() {
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" >/dev/null
  cmake --build "$BUILD_DIR" -j2
}

case "${1:-}" in
  deps) install_deps ;;
  build) install_deps; build ;;
  demo)
    install_deps; build
    shift
    # State in the checkout's (git-ignored) marquee-data, wherever this runs
    # from, unless the caller chose a place (a flag, a config file or the
    # environment: a second --data-dir would be refused).
    data_dir=(--data-dir "$ROOT/marquee-data")
    for arg in "$@"; do
      [[ "$arg" == --data-dir* || "$arg" == --config* || "$arg" == -c* || "$arg" == *state.data_dir=* ]] && data_dir=()
    done
    [[ -n "${MARQUEE_STATE__DATA_DIR:-}" ]] && data_dir=()
    exec "$BUILD_DIR/app/marquee" demo "${data_dir[@]}" "$@"
    ;;
  test)
    install_deps; build
    # Java and Maven are installed above: a real-broker suite that cannot
    # fetch or start Kafka is a failure here, not a skip.
    export KAFKA_BROKER_REQUIRED="${KAFKA_BROKER_REQUIRED:-1}"
    # shellcheck disable=SC2086
    (cd "$BUILD_DIR" && ctest --output-on-failure -j2 --timeout 900 ${CTEST_ARGS:-})
    if [[ "${SANITIZE:-1}" == 1 ]]; then
      # Memory errors and undefined behaviour fail a test here even when its
      # assertions pass. The real-broker and benchmark suites are left out:
      # they test the same code, slower.
      echo "dev.sh: the unit and integration suites again, under AddressSanitizer + UBSan" >&2
      cmake -S "$ROOT" -B "$BUILD_DIR-sanitize" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
            -DMARQUEE_SANITIZE=address,undefined >/dev/null
      cmake --build "$BUILD_DIR-sanitize" -j2
      # shellcheck disable=SC2086
      (cd "$BUILD_DIR-sanitize" && ctest --output-on-failure -j2 --timeout 900 -LE 'e2e|bench' ${CTEST_ARGS:-})
    fi
    ;;
  tsan)
    # Data races: the unit and integration suites built with ThreadSanitizer
    # (not part of `test`: a third build of the tree, and about 5 minutes of
    # tests on 2 cores). Any report not suppressed in tests/tsan/suppressions.txt
    # fails its test; spawned engines inherit the settings and exit non-zero
    # on a report.
    install_deps
    cmake -S "$ROOT" -B "$BUILD_DIR-tsan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
          -DMARQUEE_SANITIZE=thread >/dev/null
    cmake --build "$BUILD_DIR-tsan" -j2
    # Absolute: the loader resolves a relative preload against each test's
    # working directory.
    export LD_PRELOAD="$(realpath -m "$BUILD_DIR-tsan")/tests/libc11_threads_shim.so"
    export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan/suppressions.txt second_deadlock_stack=1"
    # The retention test needs the engine to fall behind a producer; under
    # TSan's slowdown the producer is the slower one.
    # shellcheck disable=SC2086
    (cd "$BUILD_DIR-tsan" && ctest --output-on-failure -j2 --timeout 900 -LE 'e2e|bench' \
       -E 'retention.records_deleted_while_a_running_consumer_lags' ${CTEST_ARGS:-})
    ;;
  *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
