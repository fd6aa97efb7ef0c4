# shellcheck shell=bash
# shellcheck disable=SC2034  # settings and *_NOTE results are read by scripts/services
# Helpers for scripts/services: local PostgreSQL, Redis, Kafka (KRaft) and an
# S3-compatible object store (S3Proxy) for Parley.
#
# Everything listens on 127.0.0.1 only, on non-default ports, and keeps its data,
# logs and pid files under $PARLEY_SERVICES_DIR (default: <repo>/.parley/services).
# This file is sourced; it defines settings and functions, and runs nothing.
#
# The default ports lie below Linux's ephemeral range (32768-60999, the local ports
# the kernel gives outgoing connections). A client that reconnects in a loop to a
# port inside that range while its service is down can be handed that very port as
# its own source port and connect to itself (TCP simultaneous open); the service
# then cannot bind its port until the client gives up. `up` warns about such ports.

# ---------------------------------------------------------------- settings
SVC_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SVC_DIR="${PARLEY_SERVICES_DIR:-$SVC_REPO_ROOT/.parley/services}"
[[ "$SVC_DIR" == /* ]] || SVC_DIR="$PWD/$SVC_DIR"
SVC_CACHE_DIR="${PARLEY_CACHE_DIR:-${HOME:-/root}/.cache/parley}"
SVC_TIMEOUT="${PARLEY_SERVICES_TIMEOUT:-60}"   # seconds to wait for one service to be ready

SVC_HOST=127.0.0.1
PG_PORT="${PARLEY_POSTGRES_PORT:-25432}"
REDIS_PORT="${PARLEY_REDIS_PORT:-26379}"
KAFKA_PORT="${PARLEY_KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${PARLEY_KAFKA_CONTROLLER_PORT:-29093}"
S3_PORT="${PARLEY_S3_PORT:-29900}"

PG_VERSION_MAJOR=15
PG_BIN="${PARLEY_PG_BIN:-/usr/lib/postgresql/$PG_VERSION_MAJOR/bin}"
PG_USER=parley
PG_PASSWORD=parley
PG_DB=parley

KAFKA_VERSION="${PARLEY_KAFKA_VERSION:-4.4.0}"
KAFKA_SCALA=2.13
# A fixed 1 GB heap: Kafka 4.4 keeps ~170-200 MB live from start-up, which with 512 MB was
# above G1's 35 % marking threshold, so it ran a concurrent cycle (two more pauses) every
# few young collections and kept eden at ~15 MB, a 30-250 ms pause every ~17 s on a busy
# machine; at 1 GB no cycle and a young pause a minute (docs/performance.md).
KAFKA_HEAP="${PARLEY_KAFKA_HEAP:--Xms1g -Xmx1g}"
KAFKA_PARTITIONS="${PARLEY_KAFKA_PARTITIONS:-8}"

S3PROXY_VERSION="${PARLEY_S3PROXY_VERSION:-2.6.0}"
S3_ACCESS_KEY=parley
S3_SECRET_KEY=parley-secret

SVC_ALL=(postgres redis kafka s3)

svc_database_url() { echo "postgresql://$PG_USER:$PG_PASSWORD@$SVC_HOST:$PG_PORT/$PG_DB"; }
svc_redis_url()    { echo "redis://$SVC_HOST:$REDIS_PORT/0"; }
svc_kafka_bootstrap() { echo "$SVC_HOST:$KAFKA_PORT"; }
svc_s3_endpoint() { echo "http://$SVC_HOST:$S3_PORT"; }

# ---------------------------------------------------------------- small helpers
svc_say()  { printf '%s\n' "$*"; }
svc_warn() { printf 'services: %s\n' "$*" >&2; }
svc_die()  { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

# svc_tail FILE [N]: show the end of a log on stderr, indented.
svc_tail() {
    local f="$1" n="${2:-40}"
    if [[ -s "$f" ]]; then
        printf '  --- last %s lines of %s ---\n' "$n" "$f" >&2
        tail -n "$n" "$f" | sed 's/^/  | /' >&2
    else
        printf '  (no log at %s)\n' "$f" >&2
    fi
}

svc_now() { date +%s.%N; }
svc_since() { awk -v a="$1" -v b="$(svc_now)" 'BEGIN { printf "%.1fs", b - a }'; }

svc_is_root() { [[ "$(id -u)" == 0 ]]; }

# svc_pid_alive PID: the process exists (and is not a zombie).
svc_pid_alive() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z ]]
}

# svc_pidfile_pid FILE: first line of a pid file when that process is alive.
svc_pidfile_pid() {
    local f="$1" pid
    [[ -r "$f" ]] || return 1
    pid="$(head -n1 "$f" 2>/dev/null | tr -dc 0-9)"
    svc_pid_alive "$pid" || return 1
    echo "$pid"
}

# svc_port_listening PORT: something listens on 127.0.0.1:PORT (or on all addresses).
svc_port_listening() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$port" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/$SVC_HOST/$port") 2>/dev/null
    fi
}

# svc_port_owner PORT: "name pid=N" of the listener, when ss can tell.
svc_port_owner() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -n1 || true
}

# svc_port_held PORT: a live connection has PORT as its local port, as when a client
# connected to itself; prints it. (Called while the service is down, so no such
# connection is the service's own; closing ones in TIME-WAIT do not block a bind.)
svc_port_held() {
    command -v ss >/dev/null 2>&1 || return 1
    ss -Htanp "sport = :$1" 2>/dev/null | grep -E '^(ESTAB|SYN-SENT)' | head -n1 | grep .
}

# svc_port_free PORT NAME VARIABLE: dies when something already holds PORT.
svc_port_free() {
    local port="$1" name="$2" var="$3" conn
    if svc_port_listening "$port"; then
        svc_die "$name: port $port is already taken by another process $(svc_port_owner "$port") — stop it or set $var"
    fi
    if conn="$(svc_port_held "$port")"; then
        svc_die "$name: port $port is the local port of a connection ($conn): a client reconnecting while $name was down connected to itself there; stop that client, or set $var to a port below the ephemeral range ($(svc_ephemeral_range))"
    fi
}

# svc_ephemeral_range: "LOW HIGH", the local ports the kernel picks for outgoing connections.
svc_ephemeral_range() {
    cat /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo "32768 60999"
}

# svc_warn_ephemeral PORT VARIABLE: warn when PORT lies inside the ephemeral range.
svc_warn_ephemeral() {
    local low high
    read -r low high < <(svc_ephemeral_range)
    if (($1 >= low && $1 <= high)); then
        svc_warn "$2=$1 lies in the ephemeral port range $low-$high: a client reconnecting while the service is down can connect to itself there and keep the service from binding it; choose a port below $low"
    fi
}

# svc_wait_exit PID NAME SECONDS: wait until the process has exited; 1 when it has not.
svc_wait_exit() {
    local pid="$1" i
    for ((i = 0; i < $3 * 10; i++)); do
        svc_pid_alive "$pid" || return 0
        sleep 0.1
    done
    svc_pid_alive "$pid" || return 0
    svc_warn "$2 (pid $pid) is still running after ${3}s"
    return 1
}

# svc_kill_pid PID NAME [GRACE_SECONDS]: TERM, wait, then KILL; returns once it has exited.
svc_kill_pid() {
    local pid="$1" name="$2" grace="${3:-20}"
    svc_pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    svc_wait_exit "$pid" "$name" "$grace" 2>/dev/null && return 0
    svc_warn "$name (pid $pid) did not stop after ${grace}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    svc_wait_exit "$pid" "$name" 5
}

# ---------------------------------------------------------------- installing
# svc_apt_install PKG...: non-interactive, quiet; never starts the packages' own services.
svc_apt_install() {
    (($#)) || return 0
    local sudo=() log="$SVC_DIR/apt.log" tmp_policy=""
    if ! svc_is_root; then
        command -v sudo >/dev/null 2>&1 || svc_die "missing packages: $* (run as root, or install them: apt-get install $*)"
        sudo=(sudo -n)
    fi
    command -v apt-get >/dev/null 2>&1 || svc_die "missing packages: $* and no apt-get here; install them by hand"
    svc_say "installing with apt-get: $* (log: $log)"
    mkdir -p "$SVC_DIR"
    # Keep Debian's maintainer scripts from starting the system-wide services
    # (a system redis on 6379, nginx on 80, a 'main' PostgreSQL cluster on 5432).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        tmp_policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# temporary, written by parley scripts/services\nexit 101\n' \
            | "${sudo[@]}" tee "$tmp_policy" >/dev/null
        "${sudo[@]}" chmod 755 "$tmp_policy"
    fi
    local rc=0
    {
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=300 update &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=300 \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            install --no-install-recommends "$@"
    } >"$log" 2>&1 || rc=$?
    if [[ -n "$tmp_policy" ]]; then "${sudo[@]}" rm -f "$tmp_policy"; fi
    if ((rc != 0)); then
        svc_tail "$log"
        svc_die "apt-get install $* failed (exit $rc)"
    fi
}

# svc_missing_packages SERVICE...: Debian packages the given services still need.
svc_missing_packages() {
    local s out=()
    for s in "$@"; do
        case "$s" in
            postgres) [[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || out+=(postgresql) ;;
            redis) { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || out+=(redis-server redis-tools) ;;
            nginx) [[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null 2>&1 || out+=(nginx) ;;
            kafka)
                command -v java >/dev/null 2>&1 || out+=(openjdk-17-jre-headless)
                if [[ ! -f "$(kafka_libs_dir)/.complete" ]]; then
                    command -v mvn >/dev/null 2>&1 || out+=(maven)
                fi
                command -v python3 >/dev/null 2>&1 || out+=(python3)
                ;;
            s3)
                command -v java >/dev/null 2>&1 || out+=(openjdk-17-jre-headless)
                if [[ ! -f "$(s3_libs_dir)/.complete" ]]; then
                    command -v mvn >/dev/null 2>&1 || out+=(maven)
                fi
                command -v curl >/dev/null 2>&1 || out+=(curl)
                ;;
        esac
    done
    ((${#out[@]} == 0)) || printf '%s\n' "${out[@]}"
}

# ================================================================= PostgreSQL
PG_HOME="$SVC_DIR/postgres"
PG_LOG="$PG_HOME/postgres.log"
PG_DATA="$PG_HOME/data"

# Run a PostgreSQL server binary as the 'postgres' user when we are root
# (the server refuses to run as root).
pg_as_owner() {
    if svc_is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# The 'postgres' user must be able to reach the data directory; when the
# services folder sits under a private directory (e.g. /root), keep the
# cluster under /var/lib/parley instead and link to it.
pg_resolve_data_dir() {
    [[ -z "${PG_RESOLVED:-}" ]] || return 0
    PG_RESOLVED=1
    svc_is_root || return 0
    mkdir -p "$PG_HOME"
    if [[ -L "$PG_DATA" ]]; then
        PG_DATA="$(readlink -f "$PG_DATA")"
        PG_LOG="$(dirname "$PG_DATA")/postgres.log"
        return 0
    fi
    chown postgres: "$PG_HOME"
    if ! runuser -u postgres -- test -w "$PG_HOME"; then
        local alt
        alt="/var/lib/parley/postgres-$(printf '%s' "$SVC_DIR" | md5sum | cut -c1-12)"
        svc_warn "user postgres cannot reach $PG_HOME; keeping the cluster in $alt/data"
        mkdir -p "$alt/data"
        chown postgres: "$alt" "$alt/data"
        ln -sfn "$alt/data" "$PG_DATA"
        PG_DATA="$alt/data"
        PG_LOG="$alt/postgres.log"
        ln -sfn "$PG_LOG" "$PG_HOME/postgres.log"
    fi
}

# pg_pid: the postmaster's pid when it is alive (not a zombie, and really postgres).
pg_pid() {
    local pid
    pid="$(svc_pidfile_pid "$PG_DATA/postmaster.pid")" || return 1
    grep -qx 'postgres' "/proc/$pid/comm" 2>/dev/null || return 1
    echo "$pid"
}

pg_running() { pg_pid >/dev/null; }

pg_ready() {
    "$PG_BIN/pg_isready" -q -h "$SVC_HOST" -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

pg_init() {
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    svc_say "postgres: initdb in $PG_DATA"
    mkdir -p "$PG_DATA"
    if svc_is_root; then chown postgres: "$PG_HOME" "$PG_DATA"; fi
    chmod 700 "$PG_DATA"
    if ! pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$PG_HOME/initdb.log" 2>&1; then
        svc_tail "$PG_HOME/initdb.log"
        svc_die "postgres: initdb failed"
    fi
    # Only TCP on loopback, trust auth (the 'parley' role still gets its password).
    pg_as_owner tee "$PG_DATA/pg_hba.conf" >/dev/null <<'EOF'
# written by parley scripts/services: loopback only, trust
host    all             all             127.0.0.1/32            trust
host    all             all             ::1/128                 trust
EOF
    printf "\ninclude 'parley.conf'\n" | pg_as_owner tee -a "$PG_DATA/postgresql.conf" >/dev/null
}

pg_write_config() {
    pg_as_owner tee "$PG_DATA/parley.conf" >/dev/null <<EOF
# written by parley scripts/services on every start; edit the script, not this file
listen_addresses = '$SVC_HOST'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
log_destination = 'stderr'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_messages = warning
log_connections = off
log_disconnections = off
timezone = 'UTC'
EOF
}

pg_provision() {
    local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SVC_HOST" -p "$PG_PORT" -U postgres)
    "${psql[@]}" -d postgres >>"$PG_LOG" 2>&1 <<EOF || { svc_tail "$PG_LOG" 20; svc_die "postgres: could not create role/database '$PG_USER'"; }
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
EOF
}

# pg_start: returns 0 when ready; prints "started"/"running" detail via PG_NOTE.
pg_start() {
    PG_NOTE=""
    pg_resolve_data_dir
    if pg_running && pg_ready; then PG_NOTE="already running"; return 0; fi
    local t0; t0="$(svc_now)"
    pg_init
    pg_write_config
    if ! pg_running; then svc_port_free "$PG_PORT" postgres PARLEY_POSTGRES_PORT; fi
    if ! pg_running; then
        # After a kill -9 the pid file is stale: remove it. The killed postmaster's
        # children may still hold the old shared memory for a moment: retry a few times.
        rm -f "$PG_DATA/postmaster.pid"
        local attempt size
        for attempt in 1 2 3 4 5 6 7 8 9 10; do
            size="$(stat -c %s "$PG_LOG" 2>/dev/null || echo 0)"
            # 8>&- 9>&-: the server must not inherit (and so hold) scripts/services' lock files
            if pg_as_owner "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$SVC_TIMEOUT" -s \
                >/dev/null 2>&1 8>&- 9>&-; then
                break
            fi
            if ((attempt < 10)) && tail -c +"$((size + 1))" "$PG_LOG" 2>/dev/null \
                | grep -qE 'shared memory block is still in use|lock file .* already exists'; then
                sleep 0.5
                continue
            fi
            svc_tail "$PG_LOG"
            svc_die "postgres: could not start (data $PG_DATA, port $PG_PORT)"
        done
    fi
    local i
    for ((i = 0; i < SVC_TIMEOUT * 10; i++)); do
        pg_ready && break
        pg_running || break
        sleep 0.1
    done
    if ! pg_ready; then
        svc_tail "$PG_LOG"
        svc_die "postgres: not accepting connections on $SVC_HOST:$PG_PORT"
    fi
    pg_provision
    PG_NOTE="started in $(svc_since "$t0")"
}

pg_stop() {
    pg_resolve_data_dir
    local pid
    pid="$(pg_pid || true)"
    if [[ -z "$pid" ]]; then return 0; fi
    # pg_ctl returns once the pid file is gone, a moment before the postmaster exits
    # and closes its port: wait for the process itself.
    if pg_as_owner "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 30 -s >/dev/null 2>&1 &&
        svc_wait_exit "$pid" postgres 10; then
        return 0
    fi
    svc_warn "postgres: fast shutdown failed; sending SIGQUIT/SIGKILL to $pid"
    kill -QUIT "$pid" 2>/dev/null || true
    svc_wait_exit "$pid" postgres 2 2>/dev/null || svc_kill_pid "$pid" postgres 5
}

pg_status_line() {
    pg_resolve_data_dir
    if pg_running && pg_ready; then
        printf '%-9s up    %s:%-5s pid %-7s %s\n' postgres "$SVC_HOST" "$PG_PORT" "$(pg_pid)" "$(svc_database_url)"
        return 0
    elif pg_running; then
        printf '%-9s DOWN  %s:%-5s pid %-7s process alive but not accepting connections (log: %s)\n' \
            postgres "$SVC_HOST" "$PG_PORT" "$(pg_pid)" "$PG_LOG"
    else
        printf '%-9s DOWN  %s:%s\n' postgres "$SVC_HOST" "$PG_PORT"
    fi
    return 1
}

# ================================================================= Redis
REDIS_HOME="$SVC_DIR/redis"
REDIS_CONF="$REDIS_HOME/redis.conf"
REDIS_PIDFILE="$REDIS_HOME/redis.pid"
REDIS_LOG="$REDIS_HOME/redis.log"

redis_pid() {
    local pid
    pid="$(svc_pidfile_pid "$REDIS_PIDFILE")" || return 1
    grep -q redis "/proc/$pid/comm" 2>/dev/null || return 1
    echo "$pid"
}

redis_ready() {
    [[ "$(redis-cli -h "$SVC_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

redis_write_config() {
    mkdir -p "$REDIS_HOME/data"
    cat >"$REDIS_CONF" <<EOF
# written by parley scripts/services on every start
bind $SVC_HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $REDIS_PIDFILE
logfile $REDIS_LOG
loglevel notice
dir $REDIS_HOME/data
save ""
appendonly no
stop-writes-on-bgsave-error no
tcp-keepalive 60
timeout 0
databases 16
EOF
}

redis_start() {
    REDIS_NOTE=""
    if redis_pid >/dev/null && redis_ready; then REDIS_NOTE="already running"; return 0; fi
    local t0 i; t0="$(svc_now)"
    redis_write_config
    if ! redis_pid >/dev/null; then
        svc_port_free "$REDIS_PORT" redis PARLEY_REDIS_PORT
        rm -f "$REDIS_PIDFILE"
        if ! redis-server "$REDIS_CONF" >>"$REDIS_LOG" 2>&1 8>&- 9>&-; then
            svc_tail "$REDIS_LOG"
            svc_die "redis: redis-server $REDIS_CONF failed"
        fi
    fi
    for ((i = 0; i < SVC_TIMEOUT * 10; i++)); do
        redis_ready && break
        sleep 0.1
        # daemonize: the pid file appears shortly after the fork
        if ((i > 20)) && ! redis_pid >/dev/null; then break; fi
    done
    if ! redis_ready; then
        svc_tail "$REDIS_LOG"
        svc_die "redis: not answering PING on $SVC_HOST:$REDIS_PORT"
    fi
    REDIS_NOTE="started in $(svc_since "$t0")"
}

redis_stop() {
    local pid
    pid="$(redis_pid || true)"
    [[ -n "$pid" ]] || { rm -f "$REDIS_PIDFILE"; return 0; }
    redis-cli -h "$SVC_HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    svc_wait_exit "$pid" redis 10 2>/dev/null || svc_kill_pid "$pid" redis 10 || return 1
    rm -f "$REDIS_PIDFILE"
}

redis_status_line() {
    if redis_pid >/dev/null && redis_ready; then
        printf '%-9s up    %s:%-5s pid %-7s %s\n' redis "$SVC_HOST" "$REDIS_PORT" "$(redis_pid)" "$(svc_redis_url)"
        return 0
    fi
    printf '%-9s DOWN  %s:%s\n' redis "$SVC_HOST" "$REDIS_PORT"
    return 1
}

# ================================================================= Kafka (KRaft, broker+controller)
KAFKA_HOME="$SVC_DIR/kafka"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PIDFILE="$KAFKA_HOME/kafka.pid"
KAFKA_LOG="$KAFKA_HOME/kafka.log"
KAFKA_PROPS="$KAFKA_HOME/server.properties"
KAFKA_LOG4J="$KAFKA_HOME/log4j2.properties"

kafka_libs_dir() { echo "$SVC_CACHE_DIR/kafka-$KAFKA_VERSION/libs"; }

# kafka_fetch: the broker's jars from Maven Central, once, into the cache.
kafka_fetch() {
    local libs top work log rc=0
    libs="$(kafka_libs_dir)"
    [[ -f "$libs/.complete" ]] && return 0
    top="$(dirname "$libs")"
    mkdir -p "$top"
    exec 8>"$top/.lock"
    flock -w 600 8 || svc_die "kafka: another process holds $top/.lock"
    if [[ -f "$libs/.complete" ]]; then exec 8>&-; return 0; fi
    svc_say "kafka: fetching org.apache.kafka:kafka_$KAFKA_SCALA:$KAFKA_VERSION and its runtime dependencies with mvn into $libs"
    work="$top/fetch"
    log="$top/fetch.log"
    rm -rf "$work" "$libs.tmp"
    mkdir -p "$work" "$libs.tmp"
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>parley.local</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$KAFKA_SCALA</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    (cd "$work" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$libs.tmp") >"$log" 2>&1 || rc=$?
    if ((rc == 0)); then
        # The kafka poms bring log4j2 (api+core) and slf4j-api but no binding between
        # them (the release tarball adds it). Add the one matching those versions.
        local log4j slf4j binding
        # shellcheck disable=SC2012
        log4j="$(cd "$libs.tmp" && ls log4j-core-*.jar 2>/dev/null | sed -E 's/^log4j-core-(.*)\.jar$/\1/' | head -n1)"
        # shellcheck disable=SC2012
        slf4j="$(cd "$libs.tmp" && ls slf4j-api-*.jar 2>/dev/null | sed -E 's/^slf4j-api-(.*)\.jar$/\1/' | head -n1)"
        if ls "$libs.tmp"/slf4j-reload4j-*.jar "$libs.tmp"/log4j-slf4j*-impl-*.jar >/dev/null 2>&1; then
            binding=""
        elif [[ -n "$log4j" && "$slf4j" == 1.* ]]; then
            binding="org.apache.logging.log4j:log4j-slf4j-impl:$log4j"
        elif [[ -n "$log4j" ]]; then
            binding="org.apache.logging.log4j:log4j-slf4j2-impl:$log4j"
        else
            binding="org.slf4j:slf4j-reload4j:${slf4j:-1.7.36}"
        fi
        if [[ -n "$binding" ]]; then
            (cd "$work" && mvn -B -q dependency:copy -Dartifact="$binding" \
                -DoutputDirectory="$libs.tmp") >>"$log" 2>&1 || rc=$?
        fi
    fi
    if ((rc != 0)) || [[ ! -f "$libs.tmp/kafka_$KAFKA_SCALA-$KAFKA_VERSION.jar" ]]; then
        svc_tail "$log"
        exec 8>&-
        svc_die "kafka: could not fetch the Kafka $KAFKA_VERSION jars with mvn (log: $log)"
    fi
    ls "$libs.tmp" >"$libs.tmp/.complete"
    rm -rf "$libs"
    mv "$libs.tmp" "$libs"
    rm -rf "$work"
    exec 8>&-
    svc_say "kafka: $(grep -c '\.jar$' "$libs/.complete") jars cached in $libs"
}

kafka_pid() {
    local pid
    if pid="$(svc_pidfile_pid "$KAFKA_PIDFILE")" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'; then
        echo "$pid"
        return 0
    fi
    # pid file lost: find the broker started on this very config file
    pid="$(pgrep -f "kafka\\.Kafka $KAFKA_PROPS\$" 2>/dev/null | head -n1 || true)"
    [[ -n "$pid" ]] || return 1
    echo "$pid" >"$KAFKA_PIDFILE"
    echo "$pid"
}

# kafka_probe: a real Kafka API round trip: ApiVersions, then Metadata must list this broker.
kafka_probe() {
    python3 - "$SVC_HOST" "$KAFKA_PORT" <<'PY' 2>/dev/null
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])

def recvn(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf

def call(s, api_key, version, corr, body):
    client = b"parley-services-probe"
    msg = struct.pack(">hhih", api_key, version, corr, len(client)) + client + body
    s.sendall(struct.pack(">i", len(msg)) + msg)
    (size,) = struct.unpack(">i", recvn(s, 4))
    data = recvn(s, size)
    if struct.unpack(">i", data[:4])[0] != corr:
        raise ValueError("bad correlation id")
    return data[4:]

with socket.create_connection((host, port), timeout=3) as s:
    s.settimeout(3)
    r = call(s, 18, 0, 1, b"")                       # ApiVersions v0
    if struct.unpack(">h", r[:2])[0] != 0:
        sys.exit(1)
    r = call(s, 3, 4, 2, struct.pack(">ib", -1, 0))  # Metadata v4, all topics, no auto-create
    off = 4                                          # throttle_time_ms
    (n,) = struct.unpack(">i", r[off:off + 4]); off += 4
    ports = []
    for _ in range(n):
        off += 4                                     # node_id
        (hl,) = struct.unpack(">h", r[off:off + 2]); off += 2 + hl
        (p,) = struct.unpack(">i", r[off:off + 4]); off += 4
        (rl,) = struct.unpack(">h", r[off:off + 2]); off += 2 + max(rl, 0)
        ports.append(p)
    sys.exit(0 if port in ports else 1)
PY
}

kafka_ready() {
    svc_port_listening "$KAFKA_PORT" && kafka_probe
}

kafka_write_config() {
    mkdir -p "$KAFKA_DATA"
    cat >"$KAFKA_PROPS" <<EOF
# written by parley scripts/services on every start; single node, KRaft (broker+controller)
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$SVC_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$SVC_HOST:$KAFKA_PORT,CONTROLLER://$SVC_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$SVC_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=$KAFKA_PARTITIONS
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# after a kill -9 the restarted broker must wait for its old registration to expire:
# keep that short (defaults 9000/2000 ms) so a crashed broker is back in ~4 s
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
log.segment.bytes=67108864
EOF
    cat >"$KAFKA_LOG4J" <<'EOF'
# written by parley scripts/services: everything to stdout (redirected to kafka.log)
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.network.name = kafka.network.RequestChannel$
logger.network.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
EOF
}

# kafka_java_cmd: the java command line (without main class) in the array KAFKA_JAVA.
kafka_java_cmd() {
    # shellcheck disable=SC2206
    KAFKA_JAVA=(java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
        "-Dlog4j2.configurationFile=$KAFKA_LOG4J" "-Dkafka.logs.dir=$KAFKA_HOME"
        -cp "$(kafka_libs_dir)/*")
}

kafka_format() {
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    local cid
    if [[ -s "$KAFKA_HOME/cluster.id" ]]; then
        cid="$(cat "$KAFKA_HOME/cluster.id")"
    else
        # a Kafka Uuid: 16 random bytes, url-safe base64 without padding (not starting with '-')
        cid=-
        while [[ "$cid" == -* ]]; do
            cid="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        done
        echo "$cid" >"$KAFKA_HOME/cluster.id"
    fi
    kafka_java_cmd
    if ! "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone \
        -t "$cid" -c "$KAFKA_PROPS" >"$KAFKA_HOME/format.log" 2>&1; then
        svc_tail "$KAFKA_HOME/format.log"
        svc_die "kafka: formatting the storage in $KAFKA_DATA failed"
    fi
}

# kafka_launch: start the JVM in the background (no waiting); kafka_wait waits for it.
kafka_launch() {
    KAFKA_NOTE=""
    KAFKA_T0="$(svc_now)"
    KAFKA_LAUNCHED=0
    if kafka_pid >/dev/null; then return 0; fi
    kafka_fetch
    kafka_write_config
    svc_port_free "$KAFKA_PORT" kafka PARLEY_KAFKA_PORT
    svc_port_free "$KAFKA_CONTROLLER_PORT" kafka PARLEY_KAFKA_CONTROLLER_PORT
    kafka_format
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    kafka_java_cmd
    (
        cd "$KAFKA_HOME" || exit 1
        # own session (survives the caller's process group); the pid file holds java's pid
        # shellcheck disable=SC2016
        exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KAFKA_PIDFILE" \
            "${KAFKA_JAVA[@]}" kafka.Kafka "$KAFKA_PROPS"
    ) </dev/null >"$KAFKA_LOG" 2>&1 8>&- 9>&- &
    disown 2>/dev/null || true
    KAFKA_LAUNCHED=1
}

kafka_wait() {
    local i pid
    for ((i = 0; i < SVC_TIMEOUT * 10; i++)); do
        if grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null || ((KAFKA_LAUNCHED == 0)); then
            if kafka_ready; then
                if ((KAFKA_LAUNCHED)); then
                    KAFKA_NOTE="started in $(svc_since "$KAFKA_T0")"
                else
                    KAFKA_NOTE="already running"
                fi
                return 0
            fi
        fi
        # give the wrapper a moment to write its pid file before judging
        if ((i > 10)) && ! kafka_pid >/dev/null; then
            svc_tail "$KAFKA_LOG"
            svc_die "kafka: the broker exited during startup (log: $KAFKA_LOG)"
        fi
        sleep 0.1
    done
    svc_tail "$KAFKA_LOG"
    svc_die "kafka: not ready on $SVC_HOST:$KAFKA_PORT after ${SVC_TIMEOUT}s (log: $KAFKA_LOG)"
}

kafka_start() { kafka_launch && kafka_wait; }

kafka_stop() {
    local pid
    pid="$(kafka_pid || true)"
    if [[ -n "$pid" ]]; then svc_kill_pid "$pid" kafka 30 || return 1; fi
    rm -f "$KAFKA_PIDFILE"
}

kafka_status_line() {
    local pid
    if pid="$(kafka_pid)" && kafka_ready; then
        printf '%-9s up    %s:%-5s pid %-7s PARLEY_KAFKA_BOOTSTRAP=%s (Kafka %s, KRaft)\n' \
            kafka "$SVC_HOST" "$KAFKA_PORT" "$pid" "$(svc_kafka_bootstrap)" "$KAFKA_VERSION"
        return 0
    elif [[ -n "${pid:-}" ]]; then
        printf '%-9s DOWN  %s:%-5s pid %-7s process alive but the broker does not answer (log: %s)\n' \
            kafka "$SVC_HOST" "$KAFKA_PORT" "$pid" "$KAFKA_LOG"
    else
        printf '%-9s DOWN  %s:%s\n' kafka "$SVC_HOST" "$KAFKA_PORT"
    fi
    return 1
}

# ================================================================= S3Proxy (S3 API over a folder)
# A real S3-compatible server (org.gaul:s3proxy from Maven Central) on its jclouds
# "filesystem" backend: the S3 file store's tests and `make cluster` talk S3 to it.
S3_HOME="$SVC_DIR/s3"
S3_DATA="$S3_HOME/data"
S3_PIDFILE="$S3_HOME/s3proxy.pid"
S3_LOG="$S3_HOME/s3proxy.log"
S3_PROPS="$S3_HOME/s3proxy.properties"

s3_libs_dir() { echo "$SVC_CACHE_DIR/s3proxy-$S3PROXY_VERSION/libs"; }

# s3_fetch: S3Proxy's jars from Maven Central, once, into the cache.
s3_fetch() {
    local libs top work log rc=0
    libs="$(s3_libs_dir)"
    [[ -f "$libs/.complete" ]] && return 0
    top="$(dirname "$libs")"
    mkdir -p "$top"
    exec 8>"$top/.lock"
    flock -w 600 8 || svc_die "s3: another process holds $top/.lock"
    if [[ -f "$libs/.complete" ]]; then exec 8>&-; return 0; fi
    svc_say "s3: fetching org.gaul:s3proxy:$S3PROXY_VERSION and its runtime dependencies with mvn into $libs"
    work="$top/fetch"
    log="$top/fetch.log"
    rm -rf "$work" "$libs.tmp"
    mkdir -p "$work" "$libs.tmp"
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>parley.local</groupId>
  <artifactId>s3proxy-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.gaul</groupId>
      <artifactId>s3proxy</artifactId>
      <version>$S3PROXY_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
    (cd "$work" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$libs.tmp") >"$log" 2>&1 || rc=$?
    if ((rc != 0)) || [[ ! -f "$libs.tmp/s3proxy-$S3PROXY_VERSION.jar" ]]; then
        svc_tail "$log"
        exec 8>&-
        svc_die "s3: could not fetch the S3Proxy $S3PROXY_VERSION jars with mvn (log: $log)"
    fi
    ls "$libs.tmp" >"$libs.tmp/.complete"
    rm -rf "$libs"
    mv "$libs.tmp" "$libs"
    rm -rf "$work"
    exec 8>&-
    svc_say "s3: $(grep -c '\.jar$' "$libs/.complete") jars cached in $libs"
}

s3_pid() {
    local pid
    if pid="$(svc_pidfile_pid "$S3_PIDFILE")" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org\.gaul\.s3proxy\.Main'; then
        echo "$pid"
        return 0
    fi
    return 1
}

# s3_ready: an unsigned request is answered by S3 (403 AccessDenied), not by nothing.
s3_ready() {
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$(svc_s3_endpoint)/" 2>/dev/null || true)"
    [[ "$code" == 403 || "$code" == 200 ]]
}

s3_start() {
    local t0 i
    t0="$(svc_now)"
    S3_NOTE=""
    if s3_pid >/dev/null && s3_ready; then S3_NOTE="already running"; return 0; fi
    s3_fetch
    svc_port_free "$S3_PORT" s3 PARLEY_S3_PORT
    mkdir -p "$S3_DATA"
    cat >"$S3_PROPS" <<EOF
# written by parley scripts/services
s3proxy.endpoint=$(svc_s3_endpoint)
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY
s3proxy.credential=$S3_SECRET_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$S3_DATA
EOF
    [[ -f "$S3_LOG" ]] && mv -f "$S3_LOG" "$S3_LOG.1"
    (
        cd "$S3_HOME" || exit 1
        # shellcheck disable=SC2016
        exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$S3_PIDFILE" \
            java -Xms64m -Xmx256m -DLOG_LEVEL=warn -cp "$(s3_libs_dir)/*" \
            org.gaul.s3proxy.Main --properties "$S3_PROPS"
    ) </dev/null >"$S3_LOG" 2>&1 8>&- 9>&- &
    disown 2>/dev/null || true
    for ((i = 0; i < SVC_TIMEOUT * 10; i++)); do
        if s3_ready; then S3_NOTE="started in $(svc_since "$t0")"; return 0; fi
        if ((i > 10)) && ! s3_pid >/dev/null; then
            svc_tail "$S3_LOG"
            svc_die "s3: S3Proxy exited during startup (log: $S3_LOG)"
        fi
        sleep 0.1
    done
    svc_tail "$S3_LOG"
    svc_die "s3: not answering on $(svc_s3_endpoint) after ${SVC_TIMEOUT}s (log: $S3_LOG)"
}

s3_stop() {
    local pid
    pid="$(s3_pid || true)"
    if [[ -n "$pid" ]]; then svc_kill_pid "$pid" s3 15 || return 1; fi
    rm -f "$S3_PIDFILE"
}

s3_status_line() {
    if s3_pid >/dev/null && s3_ready; then
        printf '%-9s up    %s:%-5s pid %-7s PARLEY_S3_ENDPOINT=%s (S3Proxy %s)\n' \
            s3 "$SVC_HOST" "$S3_PORT" "$(s3_pid)" "$(svc_s3_endpoint)" "$S3PROXY_VERSION"
        return 0
    fi
    printf '%-9s DOWN  %s:%s\n' s3 "$SVC_HOST" "$S3_PORT"
    return 1
}
