# shellcheck shell=bash
# Helpers shared by the deploy/local scripts. Source it; don't run it.

# The daemons live in sbin, which a non-root PATH often lacks.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# Progress goes to stderr so that stdout stays free for callers. A message
# that cannot be written (stderr was a pipe whose reader died, as under
# `make run | tee` after Ctrl-C) is dropped rather than aborting the script
# under set -e: a cleanup must not die on its first log line.
log() { printf '==> %s\n' "$*" >&2 || true; }
warn() { printf 'warning: %s\n' "$*" >&2 || true; }
die() { printf 'error: %s\n' "$*" >&2 || true; exit 1; }

# in_foreground_terminal: true when this process has a controlling terminal
# and is in its foreground process group (it gets the terminal's Ctrl-C).
in_foreground_terminal() {
  { : </dev/tty; } 2>/dev/null || return 1
  local stat fields
  stat=$(cat /proc/$$/stat 2>/dev/null) || return 1
  read -ra fields <<<"${stat##*) }" # state ppid pgrp session tty_nr tpgid ...
  [[ ${fields[2]} == "${fields[5]}" ]]
}

# port_in_use HOST:PORT: true when something accepts connections there.
port_in_use() {
  local host=${1%:*} port=${1##*:}
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

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

# stop_pidfile FILE COMM [LABEL]: stop_pid for the process named in FILE,
# if it is alive and its command name is COMM. LABEL (default COMM) names
# it in the messages.
stop_pidfile() {
  local file=$1 comm=$2 label=${3:-$2}
  if pid_alive "$file" "$comm"; then
    stop_pid "$(<"$file")" "$label"
  else
    log "$label: not running"
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
