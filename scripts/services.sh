#!/usr/bin/env bash
# Local PostgreSQL, Redis and Apache Kafka for development, tests and CI, without Docker.
#
#   bash scripts/services.sh up     [postgres|redis|kafka ...]   start (idempotent; a quick no-op when running)
#   bash scripts/services.sh down   [postgres|redis|kafka ...]   stop, leaving no process behind
#   bash scripts/services.sh status [postgres|redis|kafka ...]   show what runs (exit 3 if something is down)
#   bash scripts/services.sh env                                 print the exports of .local/services.env
#
# With no service named, all three are meant. Missing binaries are installed from Debian packages
# (only when missing); the Debian system services themselves are never started: every server here
# is a project-owned process bound to 127.0.0.1, with its data, pid file and log under .local/.
#
#   PostgreSQL  127.0.0.1:25432  database huleedu_class_management, user postgres, trust auth
#   Redis       127.0.0.1:26379  no persistence
#   Kafka       127.0.0.1:29092  KRaft single node (controller on 29093); jars from Maven Central,
#                                version set in scripts/kafka/pom.xml only
#
# The default ports sit below Linux's ephemeral range (ip_local_port_range, 32768-60999 by
# default): inside it, a client that keeps reconnecting while a server is down can be handed the
# server's own port as its source port, connect to itself, and keep the server from binding
# again when it restarts.
#
# Environment knobs: KAFKA_START_TIMEOUT (seconds, default 90), KAFKA_JVM_EXTRA_OPTS, and, to run a
# second checkout's services side by side, SERVICES_PG_PORT, SERVICES_REDIS_PORT,
# SERVICES_KAFKA_PORT and SERVICES_KAFKA_CONTROLLER_PORT (services.env follows them).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LOCAL="$ROOT/.local"

PG_PORT="${SERVICES_PG_PORT:-25432}"
PG_DB=huleedu_class_management
PG_DIR="$LOCAL/postgres"
PG_DATA="$PG_DIR/data"
PG_SOCK="$PG_DIR/run"
PG_LOG="$PG_DIR/postgres.log"

REDIS_PORT="${SERVICES_REDIS_PORT:-26379}"
REDIS_DIR="$LOCAL/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

KAFKA_PORT="${SERVICES_KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${SERVICES_KAFKA_CONTROLLER_PORT:-29093}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_POM="$ROOT/scripts/kafka/pom.xml"
KAFKA_LOG4J="$ROOT/scripts/kafka/log4j2.properties"
KAFKA_DIR="$LOCAL/kafka"
KAFKA_LIBS="$KAFKA_DIR/libs"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PID="$KAFKA_DIR/kafka.pid"
KAFKA_OUT="$KAFKA_DIR/kafka.out"
KAFKA_CDS="$KAFKA_DIR/kafka.jsa"
MAVEN_DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.11.0"

SERVICES_ENV="$LOCAL/services.env"
KAFKA_SIGNALLED='' # pid that kafka_down_signal has sent SIGTERM to
ALL_SERVICES=(postgres redis kafka)

START_TIME=$EPOCHREALTIME
elapsed() { awk -v a="$START_TIME" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[services %5ss] %s\n' "$(elapsed)" "$*" >&2; }
die() {
    printf '[services] ERROR: %s\n' "$*" >&2
    exit 1
}

# Print the last lines of a log file to stderr, framed, for failure messages.
show_tail() {
    local file=$1
    if [[ -s $file ]]; then
        printf '[services] ---- last lines of %s ----\n' "$file" >&2
        tail -n "${2:-40}" "$file" >&2
        printf '[services] ---- end of %s ----\n' "$file" >&2
    fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Print the pid stored in pid file $1 if that process is alive and its command line contains $2.
# A stale pid file (process gone, or the pid reused by another program) prints nothing, fails.
live_pid() {
    local pidfile=$1 needle=$2 pid
    [[ -s $pidfile ]] || return 1
    read -r pid <"$pidfile" || true
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cmdline_of "$pid")" == *"$needle"* ]] || return 1
    printf '%s\n' "$pid"
}

# The command line of process $1, arguments joined by spaces (empty for a zombie).
cmdline_of() {
    local -a args=()
    mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" || true
    printf '%s' "${args[*]}"
}

# Print the pids of all processes whose command line contains $1 (fixed string, not a regex).
pids_with_cmdline() {
    local dir
    local -a args
    for dir in /proc/[0-9]*; do
        args=()
        mapfile -d '' -t args 2>/dev/null <"$dir/cmdline" || continue
        [[ "${args[*]}" == *"$1"* ]] && printf '%s\n' "${dir#/proc/}"
    done
    return 0
}

# Print the pids of all processes whose working directory is $1 (postgres processes chdir to
# their data directory, so this finds a cluster's orphaned backends after a crash).
pids_in_dir() {
    local dir
    for dir in /proc/[0-9]*; do
        [[ $dir/cwd -ef $1 ]] && printf '%s\n' "${dir#/proc/}"
    done
    return 0
}

# True while process $1 exists and is not a zombie (an exited daemon whose parent, init, has not
# reaped it yet still answers kill -0; some sandbox inits reap only every second or two).
proc_alive() {
    local stat
    kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# Wait up to $2 seconds for process $1 to exit.
wait_exit() {
    local pid=$1 deadline=$((SECONDS + $2))
    while proc_alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# ---------------------------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------------------------
apt_install() {
    (($# > 0)) || return 0
    local sudo=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null || die "need root (or sudo) to install: $*"
        sudo=(sudo)
    fi
    log "installing from Debian: $* (this takes a while once)"
    (
        # Keep apt from starting the Debian system services (its postgresql/redis-server would take
        # ports 5432/6379): invoke-rc.d skips every start while a policy-rc.d exits 101.
        policy=/usr/sbin/policy-rc.d
        if [[ ! -e $policy ]]; then
            printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
            "${sudo[@]}" chmod 0755 "$policy"
            trap '"${sudo[@]}" rm -f "$policy"' EXIT
        fi
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends "$@"
    ) >"$LOCAL/apt.log" 2>&1 || {
        show_tail "$LOCAL/apt.log"
        die "apt-get install $* failed"
    }
}

# Directory holding initdb/pg_ctl/psql of the PostgreSQL server, or nothing. An existing cluster
# pins the major version it was created with.
pg_bindir() {
    local d
    if [[ -s $PG_DATA/PG_VERSION ]]; then
        d="/usr/lib/postgresql/$(<"$PG_DATA/PG_VERSION")/bin"
        [[ -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return 0; }
    fi
    if command -v pg_config >/dev/null; then
        d=$(pg_config --bindir 2>/dev/null || true)
        [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return 0; }
    fi
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { printf '%s\n' "$d"; return 0; }
    return 1
}

# The java to run Kafka 4.x with: the first one of Java 17 or newer.
find_java() {
    local candidate version
    for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" \
        /usr/lib/jvm/java-*-openjdk-*/bin/java; do
        [[ -n $candidate && -x $candidate ]] || continue
        version=$("$candidate" -XshowSettings:properties -version 2>&1 |
            sed -n 's/^ *java\.specification\.version = \([0-9.]*\)$/\1/p')
        if [[ ! ${version%%.*} =~ ^[0-9]+$ ]] || ((${version%%.*} < 17)); then continue; fi
        printf '%s\n' "$candidate"
        return 0
    done
    return 1
}

kafka_version() { sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$KAFKA_POM" | head -n 1; }
kafka_pom_digest() { sha256sum "$KAFKA_POM" | cut -d' ' -f1; }
kafka_libs_current() {
    [[ -f $KAFKA_LIBS/.pom.sha256 && "$(<"$KAFKA_LIBS/.pom.sha256")" == "$(kafka_pom_digest)" ]] &&
        compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null
}

# Install whatever the requested services lack, with one apt-get run.
ensure_packages() {
    local pkgs=() svc
    for svc in "$@"; do
        case $svc in
        postgres)
            if ! pg_bindir >/dev/null || ! id -u postgres >/dev/null 2>&1; then pkgs+=(postgresql); fi
            ;;
        redis)
            command -v redis-server >/dev/null || pkgs+=(redis-server)
            ;;
        kafka)
            command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
            # Maven is only needed to fetch the broker jars.
            if ! kafka_libs_current && ! command -v mvn >/dev/null; then pkgs+=(maven); fi
            ;;
        esac
    done
    apt_install "${pkgs[@]}"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------
# PostgreSQL refuses to run as root, so as root its programs run as the Debian `postgres` user.
as_pg() {
    if ((EUID == 0)); then
        (cd "$PG_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$PG_DIR" && "$@")
    fi
}

pg_pid() { live_pid "$PG_DATA/postmaster.pid" "$PG_DATA"; }

# The postgres user must be able to reach .local/postgres. CI clones into a `mktemp -d` folder
# (mode 0700, owned by root), so add ONLY the traverse bit (o+x, never read) to each ancestor
# that lacks it; nothing becomes listable or readable by that.
grant_traverse() {
    local dir
    dir=$(dirname "$1")
    while [[ $dir != / ]]; do
        if [[ "$(stat -c %A "$dir")" != *[xt] ]]; then
            log "chmod o+x $dir (so the postgres user can traverse it)"
            chmod o+x "$dir"
        fi
        dir=$(dirname "$dir")
    done
}

pg_write_conf() {
    local sockets="'$PG_SOCK'"
    # A Unix socket path is limited to 107 bytes; on a deep checkout go TCP-only.
    if ((${#PG_SOCK} + 20 > 107)); then sockets="''"; fi
    as_pg tee "$PG_DATA/huleedu-local.conf" >/dev/null <<EOF
# Written by scripts/services.sh at every start; a throw-away test cluster, durability is off.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = $sockets
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

pg_up() {
    local bin pid
    bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
    if ! pid=$(pg_pid); then
        if ((EUID == 0)); then
            mkdir -p "$PG_DIR"
            chown postgres:postgres "$PG_DIR"
            grant_traverse "$PG_DIR"
        fi
        mkdir -p "$PG_DIR" && chmod 0700 "$PG_DIR"
        as_pg mkdir -p "$PG_SOCK"
        if [[ ! -s $PG_DATA/PG_VERSION ]]; then
            log "postgres: initdb $PG_DATA"
            rm -rf "$PG_DATA"
            as_pg "$bin/initdb" -D "$PG_DATA" --auth=trust -U postgres --encoding=UTF8 \
                --locale=C.UTF-8 --no-sync --no-instructions >"$PG_DIR/initdb.log" 2>&1 ||
                {
                    show_tail "$PG_DIR/initdb.log"
                    die "initdb failed"
                }
            printf "\ninclude_if_exists = 'huleedu-local.conf'\n" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
        fi
        # After a crash, wait for the old postmaster to be gone (reaped) and for its orphaned
        # children to exit; postgres itself refuses to start while either holds the data dir.
        local old_pid deadline=$((SECONDS + 15))
        old_pid=
        [[ -f $PG_DATA/postmaster.pid ]] && read -r old_pid <"$PG_DATA/postmaster.pid"
        if [[ $old_pid =~ ^[0-9]+$ ]]; then
            while kill -0 "$old_pid" 2>/dev/null || [[ -n "$(pids_in_dir "$PG_DATA")" ]]; do
                ((SECONDS < deadline)) || break
                sleep 0.2
            done
        fi
        port_open "$PG_PORT" && die "port $PG_PORT is taken by another program; cannot start postgres"
        pg_write_conf
        log "postgres: starting on 127.0.0.1:$PG_PORT"
        # 9>&-: daemons must not inherit the lock descriptor (they would hold the lock forever).
        if ! as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 -s start 9>&-; then
            show_tail "$PG_LOG"
            die "postgres did not start"
        fi
        pid=$(pg_pid) || {
            show_tail "$PG_LOG"
            die "postgres exited right after starting"
        }
    fi
    local deadline=$((SECONDS + 30))
    until "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; do
        if ((SECONDS >= deadline)); then
            show_tail "$PG_LOG"
            die "postgres (pid $pid) does not accept connections on 127.0.0.1:$PG_PORT"
        fi
        sleep 0.2
    done
    if [[ -z "$("$bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tA \
        -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]]; then
        log "postgres: creating database $PG_DB"
        "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
    fi
    log "postgres: up (pid $pid) 127.0.0.1:$PG_PORT/$PG_DB"
}

pg_down() {
    local pid bin
    pid=$(pg_pid) || {
        log "postgres: not running"
        return 0
    }
    bin=$(pg_bindir) || die "PostgreSQL server binaries not found"
    log "postgres: stopping (pid $pid)"
    if ! as_pg "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 -s stop; then
        as_pg "$bin/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 -s stop || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait_exit "$pid" 10 || die "postgres (pid $pid) did not stop"
}

# ---------------------------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------------------------
redis_pid() { live_pid "$REDIS_PID" redis-server; }

# PING over bash's /dev/tcp: needs no redis-cli.
redis_ping() (
    exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT" 2>/dev/null || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [[ $reply == +PONG* ]]
)

redis_up() {
    local pid
    if ! pid=$(redis_pid); then
        mkdir -p "$REDIS_DIR"
        rm -f "$REDIS_PID"
        port_open "$REDIS_PORT" && die "port $REDIS_PORT is taken by another program; cannot start redis"
        log "redis: starting on 127.0.0.1:$REDIS_PORT"
        redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
            --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" --dir "$REDIS_DIR" \
            --save "" --appendonly no 9>&- ||
            {
                show_tail "$REDIS_LOG"
                die "redis-server failed to start"
            }
    fi
    local deadline=$((SECONDS + 20))
    until pid=$(redis_pid) && redis_ping; do
        if ((SECONDS >= deadline)); then
            show_tail "$REDIS_LOG"
            die "redis does not answer PING on 127.0.0.1:$REDIS_PORT"
        fi
        sleep 0.05
    done
    log "redis: up (pid $pid) 127.0.0.1:$REDIS_PORT"
}

redis_down() {
    local pid
    pid=$(redis_pid) || {
        log "redis: not running"
        rm -f "$REDIS_PID"
        return 0
    }
    log "redis: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 15; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_exit "$pid" 5 || die "redis (pid $pid) did not stop"
    fi
    rm -f "$REDIS_PID"
}

# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------
kafka_pid() { live_pid "$KAFKA_PID" "$KAFKA_PROPS"; }

kafka_fetch_libs() {
    kafka_libs_current && return 0
    command -v mvn >/dev/null || die "mvn not found"
    local version tmp
    version=$(kafka_version)
    [[ -n $version ]] || die "no <kafka.version> in $KAFKA_POM"
    log "kafka: fetching Apache Kafka $version jars from Maven Central into $KAFKA_LIBS"
    mkdir -p "$KAFKA_DIR"
    tmp="$KAFKA_DIR/libs.tmp"
    rm -rf "$tmp"
    local -a fetch=(mvn -B -q -Dstyle.color=never -f "$KAFKA_POM"
        "$MAVEN_DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp")
    # Offline first: when ~/.m2 already holds everything that skips Maven's remote checks
    # (about 2 s instead of 9 s here); otherwise download from Maven Central.
    if ! "${fetch[@]}" -o >"$KAFKA_DIR/mvn.log" 2>&1 && ! "${fetch[@]}" >"$KAFKA_DIR/mvn.log" 2>&1; then
        show_tail "$KAFKA_DIR/mvn.log"
        die "maven could not fetch the Kafka jars"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "maven fetched no kafka_2.13 jar"
    kafka_pom_digest >"$tmp/.pom.sha256"
    rm -rf "$KAFKA_LIBS" "$KAFKA_CDS"
    mv "$tmp" "$KAFKA_LIBS"
}

# A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as Uuid.randomUuid()
# makes them; Kafka also avoids ids that start with '-').
kafka_cluster_id() {
    local id
    while :; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
        [[ $id != -* ]] && break
    done
    printf '%s\n' "$id"
}

kafka_write_props() {
    cat >"$KAFKA_PROPS" <<EOF
# Written by scripts/services.sh at every start: a single-node KRaft broker+controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
# Topics: one partition unless a test creates more explicitly.
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fast consumer groups for tests.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# After a kill -9 the new broker stays fenced until the old registration's session expires
# (default 9 s); shorter so outage tests that kill the broker get it back quickly.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000
# Small footprint on 2 cores.
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
EOF
}

kafka_java_opts() {
    local opts=(-Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -XX:+ExplicitGCInvokesConcurrent -XX:TieredStopAtLevel=1 -XX:-UsePerfData
        -Xlog:cds=off -Xlog:cds+dynamic=off
        -Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_LOG4J"
        "-Dkafka.logs.dir=$KAFKA_DIR/logs")
    # shellcheck disable=SC2206  # deliberate word splitting of a user-supplied option string
    [[ -n ${KAFKA_JVM_EXTRA_OPTS:-} ]] && opts+=(${KAFKA_JVM_EXTRA_OPTS})
    printf '%s\n' "${opts[@]}"
}

kafka_ready_check() {
    # A real metadata request through aiokafka, when the project venv exists.
    local py="$ROOT/.venv/bin/python"
    [[ -x $py ]] || return 0
    "$py" - "127.0.0.1:$KAFKA_PORT" <<'PY' 2>/dev/null
import asyncio
import sys

try:
    from aiokafka.admin import AIOKafkaAdminClient
except ImportError:
    sys.exit(0)


async def main() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000)
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()


asyncio.run(asyncio.wait_for(main(), 10))
PY
}

kafka_up() {
    local pid java version
    if pid=$(kafka_pid); then
        log "kafka: up (pid $pid) 127.0.0.1:$KAFKA_PORT"
        return 0
    fi
    java=$(find_java) || {
        apt_install openjdk-17-jre-headless
        java=$(find_java) || die "no Java 17+ found for Kafka 4.x"
    }
    kafka_fetch_libs
    version=$(kafka_version)
    mkdir -p "$KAFKA_DIR/logs"
    rm -f "$KAFKA_PID"
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$port" && die "port $port is taken by another program; cannot start kafka"
    done
    kafka_write_props
    local -a opts
    mapfile -t opts < <(kafka_java_opts)

    # Broker data is throw-away: a different Kafka version, or a controller on another port (the
    # quorum's address), starts from an empty, new cluster.
    local data_id="$version controller=$KAFKA_CONTROLLER_PORT"
    if [[ ! -f $KAFKA_DATA/meta.properties || "$(cat "$KAFKA_DIR/data.version" 2>/dev/null)" != "$data_id" ]]; then
        rm -rf "$KAFKA_DATA" "$KAFKA_CDS"
        log "kafka: formatting $KAFKA_DATA (Kafka $version)"
        if ! "$java" "${opts[@]}" -Xms64m -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
            -t "$(kafka_cluster_id)" -c "$KAFKA_PROPS" --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1; then
            show_tail "$KAFKA_DIR/format.log"
            die "kafka storage format failed"
        fi
        printf '%s\n' "$data_id" >"$KAFKA_DIR/data.version"
    fi

    # Class-data sharing: the first run records the loaded classes when the broker exits; later
    # starts map that archive instead of parsing thousands of classes from the jars again
    # (measured: broker ready in ~1.5 s instead of ~3 s). The archive belongs to one JVM build.
    local jvm_id
    jvm_id="$(readlink -f "$java") $(stat -c %s-%Y "$(readlink -f "$java")")"
    if [[ "$(cat "$KAFKA_CDS.jvm" 2>/dev/null)" != "$jvm_id" ]]; then
        rm -f "$KAFKA_CDS"
        printf '%s\n' "$jvm_id" >"$KAFKA_CDS.jvm"
    fi
    if [[ -s $KAFKA_CDS ]]; then
        opts+=("-XX:SharedArchiveFile=$KAFKA_CDS")
    else
        opts+=("-XX:ArchiveClassesAtExit=$KAFKA_CDS")
    fi

    log "kafka: starting Apache Kafka $version on 127.0.0.1:$KAFKA_PORT"
    [[ -f $KAFKA_OUT ]] && mv -f "$KAFKA_OUT" "$KAFKA_OUT.1"
    # setsid: own session, so the broker outlives the calling shell/make and ignores its signals.
    # The inner shell writes its own pid and then becomes java (exec), so the pid file is java's.
    # shellcheck disable=SC2016  # $$ and $1 are for the inner shell
    setsid bash -c 'printf "%s\n" "$$" >"$1"; shift; exec "$@"' _ "$KAFKA_PID" \
        "$java" "${opts[@]}" -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS" \
        </dev/null >"$KAFKA_OUT" 2>&1 9>&- &
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) started=0 waiting_for="the server to start"
    while :; do
        if ((SECONDS >= deadline)); then
            show_tail "$KAFKA_OUT"
            # Leave nothing half-started behind: the next `up` starts from scratch.
            (kafka_down_wait) >/dev/null 2>&1 || true
            die "kafka did not become ready within ${KAFKA_START_TIMEOUT}s, waiting for $waiting_for (log: $KAFKA_OUT)"
        fi
        if ! pid=$(kafka_pid); then
            # No pid file yet (the launcher is still starting), or the broker has died.
            if [[ -s $KAFKA_PID ]] && ! proc_alive "$(head -n 1 "$KAFKA_PID")"; then
                show_tail "$KAFKA_OUT"
                die "kafka exited during start (log: $KAFKA_OUT)"
            fi
            sleep 0.1
            continue
        fi
        if ((started == 0)) && grep -q 'Kafka Server started' "$KAFKA_OUT" && port_open "$KAFKA_PORT"; then
            started=1
            waiting_for="a metadata request to succeed"
        fi
        if ((started == 1)) && kafka_ready_check; then
            break
        fi
        sleep 0.2
    done
    log "kafka: up (pid $pid) 127.0.0.1:$KAFKA_PORT"
}

# Send SIGTERM (controlled shutdown); kafka_down_wait finishes the job.
kafka_down_signal() {
    local pid
    pid=$(kafka_pid) || {
        log "kafka: not running"
        return 0
    }
    log "kafka: stopping (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    KAFKA_SIGNALLED=$pid
}

kafka_down_wait() {
    local pid pids
    # Also any broker of this checkout whose pid file was lost.
    pids=$(
        kafka_pid || true
        pids_with_cmdline "kafka.Kafka $KAFKA_PROPS"
    )
    for pid in $(printf '%s\n' "$pids" | sort -u); do
        [[ $pid == "$KAFKA_SIGNALLED" ]] || kill -TERM "$pid" 2>/dev/null || true
        if ! wait_exit "$pid" 30; then
            log "kafka: pid $pid ignored SIGTERM for 30 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            wait_exit "$pid" 5 || die "kafka (pid $pid) did not stop"
        fi
    done
    rm -f "$KAFKA_PID"
}

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
env_lines() {
    cat <<EOF
export CLASS_MANAGEMENT_SERVICE_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:$PG_PORT/$PG_DB
export CLASS_MANAGEMENT_SERVICE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT
export CLASS_MANAGEMENT_SERVICE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
EOF
}

write_env() {
    env_lines >"$SERVICES_ENV.tmp"
    mv -f "$SERVICES_ENV.tmp" "$SERVICES_ENV"
    cat "$SERVICES_ENV"
}

status_one() {
    local svc=$1 pid port
    case $svc in
    postgres) port=$PG_PORT pid=$(pg_pid) || pid= ;;
    redis) port=$REDIS_PORT pid=$(redis_pid) || pid= ;;
    kafka) port=$KAFKA_PORT pid=$(kafka_pid) || pid= ;;
    esac
    if [[ -n $pid ]]; then
        printf '%-9s running  pid %-8s 127.0.0.1:%s\n' "$svc" "$pid" "$port"
    else
        printf '%-9s stopped\n' "$svc"
        return 1
    fi
}

main() {
    local cmd=${1:-}
    (($# > 0)) && shift
    local services=("$@") svc
    ((${#services[@]} > 0)) || services=("${ALL_SERVICES[@]}")
    for svc in "${services[@]}"; do
        [[ " ${ALL_SERVICES[*]} " == *" $svc "* ]] || die "unknown service '$svc' (expected: ${ALL_SERVICES[*]})"
    done

    case $cmd in
    up | down) ;;
    status)
        local rc=0
        for svc in "${services[@]}"; do status_one "$svc" || rc=3; done
        return "$rc"
        ;;
    env)
        env_lines
        return 0
        ;;
    *)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
        return 2
        ;;
    esac

    mkdir -p "$LOCAL"
    # One up/down at a time per checkout (parallel test runners may call `up` together).
    exec 9>"$LOCAL/.services.lock"
    flock -w 300 9 || die "another services.sh holds $LOCAL/.services.lock"

    if [[ $cmd == up ]]; then
        ensure_packages "${services[@]}"
        for svc in "${services[@]}"; do
            case $svc in
            postgres) pg_up ;;
            redis) redis_up ;;
            kafka) kafka_up ;;
            esac
        done
        write_env
    else
        # Kafka's controlled shutdown takes longest: signal it first, stop the others meanwhile.
        [[ " ${services[*]} " == *" kafka "* ]] && kafka_down_signal
        for svc in "${services[@]}"; do
            case $svc in
            postgres) pg_down ;;
            redis) redis_down ;;
            kafka) kafka_down_wait ;;
            esac
        done
    fi
}

main "$@"
