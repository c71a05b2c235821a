# shellcheck shell=bash
# Helpers shared by the deploy/local scripts. Source it; don't run it.

# The daemons live in sbin, which a non-root PATH often lacks.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# Progress goes to stderr so that stdout stays free for callers.
log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# abspath DIR: creates DIR and prints its absolute path, so that the
# daemons (which run from other working directories) get paths that hold.
abspath() { mkdir -p "$1" && (cd "$1" && pwd); }

# running PID: true while PID is a live process. A process that has exited
# but not yet been reaped (a zombie; PID 1 here reaps lazily) counts as gone.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the state follows "(comm) "
  [[ ${stat:0:1} != Z ]]
}

# pid_alive FILE [NAME]: true when FILE names a live process (whose command
# name is NAME, if given), so that a stale pid file left by a reboot or a
# crash is not mistaken for a running server.
pid_alive() {
  local file=$1 name=${2:-} pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  running "$pid" || return 1
  [[ -z $name ]] || [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]
}

# wait_until PID SECONDS CMD...: retries CMD until it succeeds. Gives up
# after SECONDS, or at once when PID (the server being waited for) has died,
# so that a server that crashes on start fails fast instead of timing out.
wait_until() {
  local pid=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! running "$pid"; then return 1; fi
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# stop_pid PID NAME: SIGTERM (a clean shutdown for every server here and
# for the service), wait for the exit, SIGKILL only after 60 s.
stop_pid() {
  local pid=$1 name=$2 i
  if [[ -z $pid ]] || ! running "$pid"; then return 0; fi
  log "$name: stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do
    running "$pid" || return 0
    sleep 0.1
  done
  warn "$name: still running after 60 s, killing pid $pid"
  kill -KILL "$pid" 2>/dev/null || true
}

# stop_pidfile FILE NAME: stop_pid for the process named in FILE.
stop_pidfile() {
  local file=$1 name=$2
  if pid_alive "$file" "$name"; then
    stop_pid "$(<"$file")" "$name"
  else
    log "$name: not running"
  fi
  rm -f "$file"
}

# socket_dir PREFERRED TAG: prints a directory for a unix socket. A socket
# path is limited to about 107 bytes, so a deep checkout falls back to a
# fixed directory under /tmp (still per-port, so two stacks never clash).
socket_dir() {
  local preferred=$1 tag=$2
  if ((${#preferred} < 80)); then
    mkdir -p "$preferred" && printf '%s\n' "$preferred"
  else
    mkdir -p "/tmp/intercom-sync-$tag" && printf '%s\n' "/tmp/intercom-sync-$tag"
  fi
}
