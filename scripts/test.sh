#!/usr/bin/env bash
# test.sh — set up and run every test of sluice; the README's test command.
#
#   sudo scripts/test.sh            everything (needs root for kernel tests)
#   FUZZ_SECONDS=N scripts/test.sh  length of the policy fuzzing run (default 30)
#   FUZZ_PACKET_SECONDS=N           the packet parser's (default 15)
#   FUZZ_CONTROL_SECONDS=N          the control request parser's (default 15)
#   FUZZ_DNS_SECONDS=N              the DNS answer parser's (default 15)
#   FUZZ_VDNS_SECONDS=N             the DNS verifier judge's (default 10)
#   FUZZ_NFLOG_SECONDS=N            the NFLOG record reader's (default 10)
#
# Steps: strict build (-Werror) and its unit tests; the unit tests under
# valgrind; an address+undefined sanitizer build and its unit tests (with
# LeakSanitizer); short libFuzzer runs of the policy, packet and control request parsers; the lab
# (kernel) scenarios. Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

DEVNULL_MODE=$(stat -c %a /dev/null)
passed=0 failed=0 failures=() failure_logs=() took=()
STEP_LOGS=$ROOT/build-logs
rm -rf "$STEP_LOGS"; mkdir -p "$STEP_LOGS"
step() { # step NAME CMD...: runs one test step, counts it; its output is
	# also kept in $STEP_LOGS/N.log, so the summary can repeat what failed
	# (the seconds it took on the ok/FAILED line: the suite must stay
	# under CI's bound, and this says where its time goes)
	local name=$1 rc log t0=$SECONDS; shift
	log=$STEP_LOGS/$((passed + failed + 1)).log
	echo "=== $name"
	# (a file, not a pipe to tee: a server a step leaves running must not
	# hold the suite up by keeping a pipe open)
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	took+=("$((SECONDS - t0)) s  $name")
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1)); echo "--- ok: $name ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1)); failures+=("$name"); failure_logs+=("$log")
		echo "--- FAILED: $name ($((SECONDS - t0)) s)"
	fi
}

build() { # build DIR MESON-ARGS...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 \
			|| { cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { cat "$dir.ninja.log"; return 1; }
}

unit_tests() { # unit_tests DIR: every unit test binary, one step each
	local dir=$1 t
	# test names only ("project:suite / name"); never ninja's chatter
	for t in $(meson test -C "$dir" --list --no-rebuild --suite unit 2>/dev/null |
		grep ' / ' | sed 's/^.* \/ //'); do
		step "unit $t ($dir)" meson test -q -C "$dir" --suite unit --print-errorlogs "$t"
	done
}

valgrind_tests() { # the fast unit tests under valgrind: any leak fails
	local t
	for t in test_parser test_eval test_decide test_differential; do
		step "valgrind $t" env SLUICE_DIFF_SCALE=0.05 valgrind -q --leak-check=full \
			--errors-for-leak-kinds=all --error-exitcode=1 build/tests/unit/$t
	done
}

fuzz() { # fuzz HARNESS SECONDS MAX_LEN: a run from the corpus in build-fuzz/corpus-HARNESS
	local h=$1 secs=$2 maxlen=$3
	build-fuzz/tests/fuzz/fuzz_$h -max_total_time="$secs" -max_len="$maxlen" \
		-artifact_prefix=build-fuzz/ \
		-print_final_stats=1 build-fuzz/corpus-$h >build-fuzz/fuzz-$h.log 2>&1 \
		|| { tail -40 build-fuzz/fuzz-$h.log; return 1; }
	grep -E 'stat::number_of_executed_units' build-fuzz/fuzz-$h.log
}
fuzz_policy() {
	mkdir -p build-fuzz/corpus-policy
	cp examples/*.conf build-fuzz/corpus-policy/ 2>/dev/null
	fuzz policy "${FUZZ_SECONDS:-30}" 8192
}
fuzz_packet() {
	python3 tests/fuzz/packet_seeds.py build-fuzz/corpus-packet || return 1
	# the NFQUEUE copy range (PACKET_COPY_MAX, 65531) plus the harness's
	# first byte, which picks where the copy is cut
	fuzz packet "${FUZZ_PACKET_SECONDS:-15}" 65532
}
fuzz_control() {
	mkdir -p build-fuzz/corpus-control
	cp tests/fuzz/control_seeds/*.json build-fuzz/corpus-control/
	fuzz control "${FUZZ_CONTROL_SECONDS:-15}" 4096
}
fuzz_dns() {
	python3 tests/fuzz/dns_seeds.py build-fuzz/corpus-dns || return 1
	fuzz dns "${FUZZ_DNS_SECONDS:-15}" 4096
}
fuzz_vdns() { # the DNS verifier's judge, on the same seed answers
	python3 tests/fuzz/dns_seeds.py build-fuzz/corpus-vdns || return 1
	fuzz vdns "${FUZZ_VDNS_SECONDS:-10}" 4096
}
fuzz_ftp() {
	python3 tests/fuzz/ftp_seeds.py build-fuzz/corpus-ftp || return 1
	fuzz ftp "${FUZZ_FTP_SECONDS:-10}" 2048
}
fuzz_http() {
	mkdir -p build-fuzz/corpus-http
	cp tests/fuzz/http_seeds/* build-fuzz/corpus-http/
	fuzz http "${FUZZ_HTTP_SECONDS:-10}" 32768
}
fuzz_nflog() {
	python3 tests/fuzz/nflog_seeds.py build-fuzz/corpus-nflog || return 1
	fuzz nflog "${FUZZ_NFLOG_SECONDS:-10}" 65536
}
fuzz_form() {
	mkdir -p build-fuzz/corpus-form
	printf 'user=carol&password=p%%C3%%A4%%24%%24+%%22w%%26rd%%22' >build-fuzz/corpus-form/signin
	fuzz form "${FUZZ_FORM_SECONDS:-5}" 4096
}
fuzz_filterpkt() { # the DNS and FTP filters' packet readers
	python3 tests/fuzz/filterpkt_seeds.py build-fuzz/corpus-filterpkt || return 1
	fuzz filterpkt "${FUZZ_FILTERPKT_SECONDS:-10}" 65537
}
fuzz_radius() {
	python3 tests/fuzz/radius_seeds.py build-fuzz/corpus-radius || return 1
	fuzz radius "${FUZZ_RADIUS_SECONDS:-15}" 4200
}

step "build (strict, -Werror)" build build -Dwerror=true
unit_tests build
examples_check() { # every shipped example policy checks clean, no warning
	# The examples log to the package's folder, /var/log/sluice, and a
	# missing log folder is an error at check: made for the check when this
	# machine has no package installed, and removed again. The secrets and
	# certificates they name under /etc/sluice are the administrator's to
	# make: on this machine they are missing, which check warns about
	# (sluice.conf(5), Files); those warnings alone are expected here.
	local f out made= rc=0
	[ -d /var/log/sluice ] || { mkdir -p /var/log/sluice && made=1; }
	for f in examples/*.conf; do
		out=$(build/src/sluicectl/sluicectl check -c "$f" 2>&1) || { echo "$out"; rc=1; break; }
		echo "$out" | grep -q ": valid: " || { echo "$out"; rc=1; break; }
		echo "$out" | grep "warning:" | grep -vq " '/etc/sluice/[^']*' does not exist$" &&
			{ echo "$out"; rc=1; break; }
	done
	[ -n "$made" ] && rmdir /var/log/sluice
	return $rc
}
step "example policies check clean" examples_check
valgrind_tests
step "build (address,undefined sanitizers)" build build-asan -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	unit_tests build-asan
build_fuzz() { CC=clang build build-fuzz -Dfuzz=true -Dtests=false \
	-Db_sanitize=address,undefined -Db_lundef=false; }
step "build (libFuzzer)" build_fuzz
step "fuzz policy parser (${FUZZ_SECONDS:-30}s)" fuzz_policy
step "fuzz queued-packet parser (${FUZZ_PACKET_SECONDS:-15}s)" fuzz_packet
step "fuzz control request parser (${FUZZ_CONTROL_SECONDS:-15}s)" fuzz_control
step "fuzz DNS answer parser (${FUZZ_DNS_SECONDS:-15}s)" fuzz_dns
step "fuzz DNS verifier's answer judge (${FUZZ_VDNS_SECONDS:-10}s)" fuzz_vdns
step "fuzz RADIUS accounting and identity state readers (${FUZZ_RADIUS_SECONDS:-15}s)" fuzz_radius
step "fuzz HTTP request reader (${FUZZ_HTTP_SECONDS:-10}s)" fuzz_http
step "fuzz NFLOG record reader (${FUZZ_NFLOG_SECONDS:-10}s)" fuzz_nflog
step "fuzz FTP read-only command stream (${FUZZ_FTP_SECONDS:-10}s)" fuzz_ftp
step "fuzz the portal's form reader (${FUZZ_FORM_SECONDS:-5}s)" fuzz_form
step "fuzz DNS and FTP filters' packet readers (${FUZZ_FILTERPKT_SECONDS:-10}s)" fuzz_filterpkt
step "resolver against a real dnsmasq (+ valgrind)" bash tests/resolve/run.sh "$ROOT/build"
step "identity against a real slapd and NSS (+ valgrind)" bash tests/identity/run_ldap.sh "$ROOT/build"
step "identity against a real Active Directory (Samba AD DC, + valgrind)" bash tests/identity/run_ad.sh "$ROOT/build"
step "verifiers against real nginx, Apache+Kerberos, a KDC, Apache+gss-ntlmssp, dnsmasq (+ valgrind)" \
	env VERIFY_LAB="$ROOT/build/tests/verify/verify_lab" bash tests/verify/run_lab.sh
build_leak() { # only the soak of a -Dtest_leak=true build (a leak on purpose)
	if [ ! -f build-leak/build.ninja ]; then
		meson setup build-leak -Dwerror=true -Dtest_leak=true >build-leak.setup.log 2>&1 \
			|| { cat build-leak.setup.log; return 1; }
	fi
	ninja -C build-leak tests/verify/verify_soak >build-leak.ninja.log 2>&1 \
		|| { cat build-leak.ninja.log; return 1; }
}
step "build (-Dtest_leak=true: the soak's leaking variant)" build_leak
step "verifier soak (${SOAK_ROUNDS:=120000} rounds incl. Negotiate, NTLM and DNS, KDC stopped half-way; RSS, heap, fds flat, memory-growth alert quiet; it fires on gss-ntlmssp 1.2 and -Dtest_leak)" \
	env VERIFY_SOAK="$ROOT/build/tests/verify/verify_soak" SOAK_LEAK_BUILD="$ROOT/build-leak" \
	bash tests/verify/run_soak.sh "$SOAK_ROUNDS"
step "Debian package: build, lintian, install, run, the office example, reinstall, purge" bash tests/package/deb_install.sh
step "kernel recipe: a session crosses to user space once" bash tests/lab/mark_recipe.sh
step "lab self-test" bash tests/lab/selftest.sh
for t in tests/kernel/[0-9]*.sh; do
	[ -e "$t" ] || continue
	step "kernel $(basename "$t" .sh)" bash "$t" "$ROOT/build"
done
# reload and restart again with sluiced run as a user (-u: CAP_NET_ADMIN and
# CAP_NET_RAW only; 34_privilege_drop checks the drop itself)
for t in 12_reload_revoke 13_failmode_restart; do
	step "kernel $t, sluiced -u nobody" env SLUICED_USER=nobody bash tests/kernel/$t.sh "$ROOT/build"
done

# the host as the suite found it: a daemon that sends its firewall log to
# /dev/null once took its permissions away (fchmod on a device)
host_intact() {
	local m; m=$(stat -c %a /dev/null)
	[ "$m" = "$DEVNULL_MODE" ] && echo "/dev/null: mode $m, as found" ||
		{ echo "/dev/null: mode $DEVNULL_MODE before the suite, $m after"; return 1; }
}
step "the suite left the host's /dev/null as it found it" host_intact

echo
# what failed, again at the end (a CI log is often read from its tail): each
# failed step's failing lines, or its last lines when none says FAIL
for i in "${!failures[@]}"; do
	echo "--- why '${failures[$i]}' failed:"
	grep -E 'FAIL|fail:|[Ee]rror|not ok' "${failure_logs[$i]}" | tail -n 25 | cut -c1-400 |
		grep . || tail -n 15 "${failure_logs[$i]}" | cut -c1-400
done
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "the 10 slowest steps of $SECONDS s:"
printf '%s\n' "${took[@]}" | sort -rn | head -n 10 | sed 's/^/  /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
