# shellcheck shell=bash
# Runs each packaged Lango binary the way a router would, under qemu-user for the foreign ones
# (24Kc for MT7621's mipsel, Cortex-A7 for ARMv7): `--version`, `check` with a good and a bad
# config, and `lango demo` answering a captive-portal probe (302), the portal page (200) and a
# voucher redeemed through the JSON API. Sourced by tests/packaging.sh, whose ok/bad/expect,
# $tmp, $version and $pkgfiles it uses; defines run_binary.
# shellcheck disable=SC2154 # tmp, version and pkgfiles come from tests/packaging.sh

# The command that runs a binary of OpenWrt architecture ARCH on this machine.
runner_for() {
	case "$1" in
	x86_64) echo "" ;;
	aarch64_*) echo "qemu-aarch64-static -cpu cortex-a53" ;;
	mipsel_24kc) echo "qemu-mipsel-static -cpu 24Kc" ;;
	arm_*) echo "qemu-arm-static -cpu cortex-a7" ;;
	*) echo "no runner for architecture '$1'" >&2; return 1 ;;
	esac
}

# A TCP port nobody listens on now (bash's /dev/tcp connect fails), from a range by PID.
free_port() {
	local p=$((20000 + ($$ * 7 + RANDOM) % 30000))
	while (: </dev/tcp/127.0.0.1/"$p") 2>/dev/null; do p=$((p + 1)); done
	echo "$p"
}

# http_status ARGS...: curl's status code for a request, 000 when nothing answered.
http_status() {
	curl -s -o "$tmp/body" -w '%{http_code}' --max-time 20 "$@" || true
}

# run_binary NAME ARCH BIN: the checks above for one binary; prints the demo's start time.
run_binary() {
	local name=$1 arch=$2 bin=$3 runner out rc
	runner=$(runner_for "$arch")
	local -a run
	read -r -a run <<<"$runner"
	run+=("$bin")

	rc=0
	out=$("${run[@]}" --version 2>&1) || rc=$?
	expect "$name: lango --version says lango $version (exit $rc: $out)" \
		test "$rc" = 0 -a "${out#"lango $version"}" != "$out"

	printf "config lango 'main'\n\toption portal_port '20x0'\n" >"$tmp/bad.conf"
	rc=0
	out=$(cd "$tmp" && "${run[@]}" check --config bad.conf 2>&1) || rc=$?
	expect "$name: lango check rejects a bad config with its line (exit $rc: $out)" \
		test "$rc" = 2 -a "${out#*bad.conf:2: option portal_port:}" != "$out"
	rc=0
	out=$("${run[@]}" check --config "$pkgfiles/lango.config" 2>&1) || rc=$?
	expect "$name: lango check accepts the default config (exit $rc${out:+: $out})" test "$rc" = 0

	local portal admin log pid started ms code
	portal=$(free_port)
	admin=$((portal + 1))
	log=$tmp/demo-$arch.log
	started=$(date +%s%N)
	TMPDIR=$tmp "${run[@]}" demo --portal "127.0.0.1:$portal" --admin "127.0.0.1:$admin" >"$log" 2>&1 &
	pid=$!
	ms=
	for _ in $(seq 600); do
		if grep -q '^Lango demo is running' "$log"; then
			ms=$((($(date +%s%N) - started) / 1000000))
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [[ -z $ms ]]; then
		bad "$name: lango demo started within 30 s ($(tail -n 3 "$log" | tr '\n' ' '))"
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		return
	fi
	ok "$name: lango demo started in $ms ms"
	echo "$name $ms" >>"$tmp/demo-start-ms"

	code=$(http_status -H 'Host: connectivitycheck.gstatic.com' "http://127.0.0.1:$portal/generate_204")
	expect "$name: demo answers Android's captive-portal probe with 302 (got $code)" test "$code" = 302
	code=$(http_status "http://127.0.0.1:$portal/")
	expect "$name: demo serves the portal page (got $code)" test "$code" = 200
	local voucher
	voucher=$(sed -n 's/^Or redeem a voucher (package [^)]*): *\([^ ]*\).*/\1/p' "$log")
	code=$(http_status -H 'Content-Type: text/plain' --data "{\"code\":\"$voucher\"}" \
		"http://127.0.0.1:$portal/api/voucher")
	expect "$name: the voucher API refuses a body that is not JSON (got $code)" test "$code" = 415
	code=$(http_status -H 'Content-Type: application/json' --data "{\"code\":\"$voucher\"}" \
		"http://127.0.0.1:$portal/api/voucher")
	expect "$name: voucher '$voucher' redeemed through POST /api/voucher (got $code: $(head -c 200 "$tmp/body"))" \
		test "$code" = 200 -a "$(grep -c '"online":true' "$tmp/body")" = 1

	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		bad "$name: lango demo stops on Ctrl-C (SIGINT) within 10 s"
		kill -9 "$pid" 2>/dev/null || true
	else
		ok "$name: lango demo stops on Ctrl-C (SIGINT)"
	fi
	wait "$pid" 2>/dev/null || true
}
