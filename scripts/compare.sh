#!/usr/bin/env bash
# compare.sh: chatd side by side with gorilla/websocket's examples/chat and
# Centrifugo v6, on this machine, over loopback only.
#
#   scripts/compare.sh                          # every load, 3 rounds
#   scripts/compare.sh --loads steady,flat --rounds 3
#   CHATD_BIN=/tmp/chatd-old scripts/compare.sh # a chatd built elsewhere ("before")
#   CHATD_REV=abc123 scripts/compare.sh         # chatd from a commit, not the working tree
#
# Builds everything into a temporary directory (never into the repo), runs
# the loads against the servers interleaved (round 1: chatd, gorilla,
# centrifugo; round 2: ...), a fresh server process per run, appends one
# JSON line per run to the results file and prints a markdown summary
# (medians, min-max) on stdout. Progress goes to stderr.
#
# Loads (--loads, comma list):
#   steady  1 publisher, 1000 msg/s for 10 s, 1000 subscribers, 64-byte texts
#   flat    4 publishers x --flat-messages (5000) messages as fast as they
#           go (chatd and Centrifugo: 64 unacked per publisher; gorilla has
#           no acks and writes until TCP pushes back), 1000 subscribers
#   idle    --idle-conns (10000) connections, --idle-concurrency (64) dials
#           at a time: connects/s, welcomes/s and (chatd) the server's CPU
#           per connect, server RSS per connection (VmRSS after setup and
#           after a 5 s hold)
#   sweep   1 publisher at each rate of --sweep (250,500,1000,2000,4000
#           msg/s) for 5 s to 1000 subscribers: the chart's data
#   storm   chatd only: --storm-clients (1000) clients, --storm-messages
#           (500) messages, chatd restarted on the same data dir, all
#           reconnect at once and catch up with history
#
# Environment: CHATD_BIN, CHATD_REV (see above), GORILLA_BIN, CENTRIFUGO_BIN
# (reuse builds), KEEP=1 (keep the temporary directory and server logs).
set -euo pipefail

rounds=3
loads=steady,flat,idle,sweep
servers=chatd,gorilla,centrifugo
subscribers=1000
flat_messages=5000
idle_conns=10000
storm_clients=1000
idle_concurrency=64
storm_messages=500
sweep=250,500,1000,2000,4000
accounts=100
results=""
svg=""
port=18300

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--loads) loads=$2; shift 2 ;;
	--servers) servers=$2; shift 2 ;;
	--subscribers) subscribers=$2; shift 2 ;;
	--flat-messages) flat_messages=$2; shift 2 ;;
	--idle-conns) idle_conns=$2; shift 2 ;;
	--storm-clients) storm_clients=$2; shift 2 ;;
	--idle-concurrency) idle_concurrency=$2; shift 2 ;;
	--storm-messages) storm_messages=$2; shift 2 ;;
	--sweep) sweep=$2; shift 2 ;;
	--accounts) accounts=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--svg) svg=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	-h | --help) usage ;;
	*) echo "compare.sh: unknown argument $1" >&2; usage ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/chatd-compare.XXXXXX)
results=${results:-/tmp/chatd-compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
server_pid=""

log() { echo "compare: $*" >&2; }

stop_server() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	server_pid=""
}
cleanup() {
	stop_server
	if [ "${KEEP:-}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every connection is a file descriptor, on both ends: the bench holds
# --idle-conns sockets plus a few dozen, each server as many.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for want in "$idle_conns" "$storm_clients"; do
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((want + 100)) ]; then
		log "open-file limit $(ulimit -n) is below $want connections + 100"
		exit 2
	fi
done

# --- Builds -----------------------------------------------------------------

cd "$repo"
log "building into $tmp"
go build -o "$tmp/chatbench" ./cmd/chatbench
go build -o "$tmp/benchchart" ./cmd/benchchart

chatd_label=""
if [ -n "${CHATD_BIN:-}" ]; then
	chatd=$CHATD_BIN
	chatd_label="external:$CHATD_BIN"
elif [ -n "${CHATD_REV:-}" ]; then
	rev=$(git rev-parse --short=12 "$CHATD_REV^{commit}")
	mkdir "$tmp/chatd-src"
	git archive "$rev" | tar -x -C "$tmp/chatd-src"
	(cd "$tmp/chatd-src" && go build -o "$tmp/chatd" ./cmd/chatd)
	chatd=$tmp/chatd
	chatd_label=$rev
else
	go build -o "$tmp/chatd" ./cmd/chatd
	chatd=$tmp/chatd
	chatd_label=$(git rev-parse --short=12 HEAD)
	if [ -n "$(git status --porcelain -- . ':!docs' ':!scripts')" ]; then chatd_label="$chatd_label+dirty"; fi
fi

has() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }

# gorilla/websocket examples/chat, unchanged, as its own module.
if ! has "$servers" gorilla; then
	gorilla=none
elif [ -n "${GORILLA_BIN:-}" ]; then
	gorilla=$GORILLA_BIN
else
	dir=$(go mod download -json github.com/gorilla/websocket@v1.5.3 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	mkdir "$tmp/gorilla-chat"
	cp "$dir"/examples/chat/*.go "$dir"/examples/chat/home.html "$tmp/gorilla-chat/"
	chmod -R u+w "$tmp/gorilla-chat"
	(
		cd "$tmp/gorilla-chat"
		printf 'module gorillachat\n\ngo 1.21\n\nrequire github.com/gorilla/websocket v1.5.3\n' >go.mod
		GOWORK=off GOFLAGS=-mod=mod go build -o "$tmp/gorilla" .
	)
	gorilla=$tmp/gorilla
fi

if ! has "$servers" centrifugo; then
	centrifugo=none
elif [ -n "${CENTRIFUGO_BIN:-}" ]; then
	centrifugo=$CENTRIFUGO_BIN
else
	GOWORK=off GOBIN=$tmp GOFLAGS=-mod=mod go install \
		-ldflags "-X github.com/centrifugal/centrifugo/v6/internal/build.Version=6.9.1" \
		github.com/centrifugal/centrifugo/v6@v6.9.1
	centrifugo=$tmp/centrifugo
fi
built="chatd $chatd_label"
if [ "$gorilla" != none ]; then built="$built; gorilla examples/chat v1.5.3"; fi
if [ "$centrifugo" != none ]; then built="$built; $("$centrifugo" version 2>/dev/null | head -1 || true)"; fi
log "$built"

# --- Servers ------------------------------------------------------------------

# start_server NAME PORT [DATADIR]: a fresh server process, in the
# background; returns once it accepts connections.
start_server() {
	local name=$1 p=$2 data=${3:-}
	case "$name" in
	chatd)
		[ -n "$data" ] || data=$(mktemp -d "$tmp/chatd-data.XXXXXX")
		"$chatd" --addr "127.0.0.1:$p" --rate-limit 0 --data-dir "$data" --log-level warn >>"$tmp/chatd.log" 2>&1 &
		;;
	gorilla)
		(cd "$tmp" && exec "$gorilla" -addr "127.0.0.1:$p") >>"$tmp/gorilla.log" 2>&1 &
		;;
	centrifugo)
		# Anonymous clients may connect, subscribe and publish in channels
		# without a namespace; history and recovery stay off (the v6
		# defaults: history_size 0); no usage statistics are sent.
		cat >"$tmp/centrifugo.json" <<-EOF
			{
			  "http_server": {"address": "127.0.0.1", "port": $p},
			  "log": {"level": "warn"},
			  "usage_stats": {"disabled": true},
			  "client": {"allow_anonymous_connect_without_token": true},
			  "channel": {"without_namespace": {
			    "allow_subscribe_for_anonymous": true, "allow_subscribe_for_client": true,
			    "allow_publish_for_anonymous": true, "allow_publish_for_client": true
			  }}
			}
		EOF
		"$centrifugo" --config "$tmp/centrifugo.json" >>"$tmp/centrifugo.log" 2>&1 &
		;;
	esac
	server_pid=$!
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			if [ "$name" != chatd ] || curl -fsS -o /dev/null "http://127.0.0.1:$p/readyz"; then return 0; fi
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	log "$name did not start on port $p (see $tmp/$name.log)"
	return 1
}

# --- Runs ---------------------------------------------------------------------

runs=0
failed_runs=0
# record SERVER LOAD ROUND OFFERED RC REPORTFILE: one JSON line.
record() {
	local report
	report=$(tr -d '\n' <"$6")
	[ -n "$report" ] || report=null
	printf '{"server":"%s","load":"%s","round":%s,"offered":%s,"rc":%s,"chatd":"%s","loadavg":"%s","time":"%s","report":%s}\n' \
		"$1" "$2" "$3" "$4" "$5" "$chatd_label" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(date -u +%FT%TZ)" "$report" >>"$results"
}

# run SERVER LOAD ROUND OFFERED -- CHATBENCH-ARGS...
run() {
	local name=$1 load=$2 round=$3 offered=$4
	shift 5
	local p=$((port + runs % 500)) out="$tmp/out.json" rc=0 extra=()
	runs=$((runs + 1))
	if ! start_server "$name" "$p"; then
		stop_server
		failed_runs=$((failed_runs + 1))
		: >"$out"
		record "$name" "$load" "$round" "${offered:-0}" 99 "$out"
		return 0
	fi
	extra+=(--server-pid "$server_pid")
	if [ "$name" = chatd ]; then extra+=(--accounts "$accounts"); fi
	log "round $round  $load $offered  $name  (load average $(cut -d' ' -f1 /proc/loadavg))"
	"$tmp/chatbench" --proto "$name" --url "http://127.0.0.1:$p" --json "${extra[@]}" "$@" >"$out" 2>>"$tmp/chatbench.log" || rc=$?
	stop_server
	[ $rc -eq 0 ] || failed_runs=$((failed_runs + 1))
	record "$name" "$load" "$round" "${offered:-0}" "$rc" "$out"
}

# storm ROUND: chatd only; restarts chatd on the same data dir when the
# bench asks for it.
storm() {
	local round=$1 p=$((port + runs % 500)) out="$tmp/out.json" err="$tmp/storm.err" rc=0 data bench
	runs=$((runs + 1))
	data=$(mktemp -d "$tmp/chatd-data.XXXXXX")
	start_server chatd "$p" "$data" || return 0
	log "round $round  storm  chatd  (load average $(cut -d' ' -f1 /proc/loadavg))"
	: >"$err"
	"$tmp/chatbench" --storm --url "http://127.0.0.1:$p" --json --users "$storm_clients" --accounts "$accounts" \
		--messages "$storm_messages" --inflight 64 --concurrency "$storm_clients" --timeout 5m >"$out" 2>"$err" &
	bench=$!
	for _ in $(seq 3000); do
		grep -q 'restart the server now' "$err" && break
		kill -0 "$bench" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q 'restart the server now' "$err"; then
		stop_server
		start_server chatd "$p" "$data" || true
	fi
	wait "$bench" || rc=$?
	cat "$err" >>"$tmp/chatbench.log"
	# The restarted server's CPU time (user + system, its start included)
	# when the bench is done: the storm's cost on the server's side.
	if [ -n "$server_pid" ] && [ -r "/proc/$server_pid/stat" ] && [ -s "$out" ]; then
		cpu=$(sed 's/.*) //' "/proc/$server_pid/stat" | awk '{printf "%.2f", ($12 + $13) / 100}')
		sed -i "1s/^{/{\"server_cpu_s\":$cpu,/" "$out"
	fi
	stop_server
	[ $rc -eq 0 ] || failed_runs=$((failed_runs + 1))
	record chatd storm "$round" 0 "$rc" "$out"
}

log "results: $results"
for round in $(seq "$rounds"); do
	if has "$loads" steady; then
		for s in ${servers//,/ }; do
			run "$s" steady "$round" 1000 -- --users "$subscribers" --senders 1 --rate 1000 --duration 10s --size 64
		done
	fi
	if has "$loads" flat; then
		for s in ${servers//,/ }; do
			run "$s" flat "$round" 0 -- --users "$subscribers" --senders 4 --messages "$flat_messages" --inflight 64 \
				--size 64 --drain 60s --timeout 10m
		done
	fi
	if has "$loads" idle; then
		for s in ${servers//,/ }; do
			run "$s" idle "$round" 0 -- --idle --users "$idle_conns" --hold 5s --concurrency "$idle_concurrency" --timeout 5m
		done
	fi
	if has "$loads" sweep; then
		for r in ${sweep//,/ }; do
			for s in ${servers//,/ }; do
				run "$s" sweep "$round" "$r" -- --users "$subscribers" --senders 1 --rate "$r" --duration 5s --size 64
			done
		done
	fi
	if has "$loads" storm && has "$servers" chatd; then
		storm "$round"
	fi
done

log "$runs runs, $failed_runs reported a failure (loss, disorder, early closes); results in $results"
"$tmp/benchchart" -in "$results" -markdown
if [ -n "$svg" ]; then "$tmp/benchchart" -in "$results" -svg "$svg"; fi
