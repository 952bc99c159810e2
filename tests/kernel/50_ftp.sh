#!/usr/bin/env bash
# 50_ftp — `filter ftp` against a real server (Debian vsftpd) and client
# (curl), through the gateway:
#  - with the filter, passive (EPSV/PASV) and active (EPRT/PORT) downloads
#    and listings work, IPv4 and IPv6: the kernel's FTP helper expects the
#    data connections, which pass as related sessions carrying the control
#    session's decision (the rule id in their ct mark);
#  - the control session is first queued (rule 1 asks who the user is) and
#    then allowed by the `filter ftp` rule: the helper is attached anyway;
#  - a connection to a server port that no control session announced is
#    denied (the implicit deny);
#  - FTP bounce: a PORT naming another host than the client (the server is
#    made to follow it: port_promiscuous) gets no expectation, and the
#    server's data connection to that host is a new session, denied;
#  - a published server (`publish ... filter ftp`, DNAT): passive and
#    active through the public address;
#  - without the filter the data connections are new sessions and denied;
#  - `filter ftp read-only`: downloads work, an upload (STOR), a delete
#    (DELE) and a mkdir (MKD) are refused with an FTP error reply, the
#    files on the server untouched, counted;
#  - `filter ftp read-only` judges the bytes the server assembles: a client
#    whose first data segment starts 5 bytes before the server's next
#    expected byte ("NOOP " + "STOR evil.txt", attack68 finding 3) has it
#    dropped (counted), and its in-order resend is refused; a logging
#    listener on port 2121 (a read-only protocol of its own) shows what the
#    server read.
#  - TCP Fast Open (the server host sets net.ipv4.tcp_fastopen=0x403): a
#    command carried in the client's SYN is never judged, so the SYN is
#    dropped (counted in ftp_filter_dropped) and the client sends it again
#    after a plain handshake, judged (attack75 finding 1);
#  - the filter's 1024 session slots: ~1,050 raw SYNs from the client's
#    own /24 make the server answer with SYN/ACKs that take slots for
#    sessions that never send a byte; another user's read-only session
#    still gets one (a handshake-only slot is reclaimed; attack75 finding 3).
. "$(dirname "$0")/lib.sh"
kt_up
command -v vsftpd >/dev/null || PATH=$PATH:/usr/sbin
command -v vsftpd >/dev/null || { kt_fail "vsftpd not installed (scripts/setup.sh)"; kt_done; }

# the server: anonymous FTP, root read-only, pub/ writable (so that a
# refused upload is refused by sluice, not by the server)
root=$LAB_TMP/ftproot
mkdir -p "$root/pub"
chmod 0755 "$LAB_TMP" "$root"
chown ftp "$root/pub"
head -c 200000 /dev/urandom >"$root/pub/data.bin"
echo keep >"$root/pub/keep.txt"
chown ftp "$root/pub/keep.txt"
sum=$(sha256sum <"$root/pub/data.bin")
cat >"$LAB_TMP/vsftpd.conf" <<EOF
listen=NO
listen_ipv6=YES
background=NO
anonymous_enable=YES
local_enable=NO
anon_root=$root
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
no_anon_password=YES
seccomp_sandbox=NO
xferlog_enable=NO
connect_from_port_20=NO
secure_chroot_dir=/var/run/vsftpd/empty
pasv_min_port=30000
pasv_max_port=30100
port_promiscuous=YES
EOF
mkdir -p /var/run/vsftpd/empty
# TCP Fast Open on every listener of the server host (cookies required);
# a backlog that answers the slot flood below
lab_exec "$LAB_SRV" sysctl -qw net.ipv4.tcp_fastopen=0x403 \
	net.ipv4.tcp_max_syn_backlog=4096 net.core.somaxconn=4096
lab_exec "$LAB_CLI" sysctl -qw net.ipv4.tcp_fastopen=1
lab_spawn "$LAB_SRV" timeout 120 vsftpd "$LAB_TMP/vsftpd.conf" >/dev/null
# a listener on a port in the passive range that no control session announced
lab_spawn "$LAB_SRV" timeout 120 socat TCP4-LISTEN:30200,reuseaddr,fork EXEC:cat >/dev/null
# a "server" on 2121 that logs every byte it reads
lab_spawn "$LAB_SRV" timeout 180 socat -u TCP4-LISTEN:2121,bind=$LAB_SRV4,reuseaddr,fork,backlog=4096 \
	OPEN:"$LAB_TMP/ftplog.rx",creat,append >/dev/null
for i in $(seq 50); do
	lab_exec "$LAB_SRV" ss -ltn | grep -q ':21 ' && break
	sleep 0.1
done

PUB=198.19.0.21
conf=$(conf_with 'protocol ftp tcp 21 filter ftp' 'protocol ftphigh tcp 30200' \
	'protocol ftplog tcp 2121 filter ftp read-only' \
	'rule "ftp" allow ftp from clients to servers' \
	'rule "ftplog" allow ftplog from clients to servers' \
	"farm ftp_farm { server ftp1 $LAB_SRV4 }" \
	"publish \"ftp\" tcp 21 on $PUB to ftp_farm filter ftp")
kt_start "$conf" || kt_done

url() { case $1 in *:*) echo "ftp://[$1]/$2" ;; *) echo "ftp://$1/$2" ;; esac; }
# fetch ADDR MODE: downloads pub/data.bin from ADDR (MODE passive or active);
# prints the file's sha256 line, or "failed RC"
fetch() {
	local opt=() rc out
	[ "$2" = active ] && opt=(--ftp-port -)
	[ "$2" = passive-v4 ] && opt=(--disable-epsv)
	[ "$2" = active-v4 ] && opt=(--ftp-port - --disable-eprt)
	out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 "${opt[@]}" \
		"$(url "$1" pub/data.bin)" 2>"$LAB_TMP/curl.err" | sha256sum)
	rc=${PIPESTATUS[0]}
	[ "$out" = "$sum" ] && echo "$out" || echo "failed: $(head -c 200 "$LAB_TMP/curl.err")"
}
expect_fetch() { # DESC ADDR MODE
	local got
	got=$(fetch "$2" "$3")
	[ "$got" = "$sum" ] && kt_ok "$1: the file arrived whole" || kt_fail "$1: $got"
}
# related_accepts: packets of related data connections the decided chain let through
related_accepts() {
	lab_exec "$LAB_GW" nft list chain inet sluice decided |
		awk 'index($0, "filter ftp: a data connection") { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

# --- with the filter
r0=$(related_accepts)
for a in "$LAB_SRV4" "$LAB_SRV6"; do
	expect_fetch "passive (EPSV) download [$a]" "$a" passive
	expect_fetch "active (EPRT) download [$a]" "$a" active
done
expect_fetch "passive (PASV) download [$LAB_SRV4]" "$LAB_SRV4" passive-v4
expect_fetch "active (PORT) download [$LAB_SRV4]" "$LAB_SRV4" active-v4
r1=$(related_accepts)
[ "$((r1 - r0))" -ge 6 ] && kt_ok "the data connections passed as related sessions ($((r1 - r0)) SYNs)" ||
	kt_fail "related data connections counted $((r1 - r0)), want >= 6"
out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 "$(url "$LAB_SRV4" pub/)" 2>&1)
grep -q data.bin <<<"$out" && kt_ok "listing (LIST) shows pub/data.bin" || kt_fail "listing: $out"
lab_exec "$LAB_GW" conntrack -L 2>/dev/null | grep -q 'helper=ftp' &&
	kt_ok "conntrack shows the control sessions with helper=ftp" ||
	kt_fail "no conntrack entry with helper=ftp"
# the data connections carry the decision of their control session: ALLOW
# by the ftp rule
fid=$(lab_exec "$LAB_GW" nft list chain inet sluice rules_forward | grep -o "comment \"rule [0-9]* 'ftp'" | head -1 | grep -o '[0-9][0-9]*')
lab_exec "$LAB_GW" conntrack -L 2>/dev/null | awk '/dport=30[01][0-9][0-9] / && /mark=/' | head -1 >"$LAB_TMP/data.ct"
m=$(grep -o 'mark=[0-9]*' "$LAB_TMP/data.ct" | head -1 | cut -d= -f2)
if [ -n "$m" ] && [ -n "$fid" ]; then
	id=$(((m >> 16) & 0x3fff)); dec=$(((m >> 30) & 3))
	[ "$dec" = 1 ] && [ "$id" = "$fid" ] &&
		kt_ok "a data connection's ct mark is ALLOW by the ftp rule (decision $dec, rule $id)" ||
		kt_fail "data connection mark $(printf 0x%08x "$m"): decision $dec rule $id, want 1 and $fid"
else
	kt_fail "no passive data connection in conntrack (rule '$fid'): $(lab_exec "$LAB_GW" conntrack -L 2>/dev/null | grep -c .) entries"
fi
# the server takes uploads (so a refusal below is sluice's)
echo up1 >"$LAB_TMP/up.txt"
out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 -T "$LAB_TMP/up.txt" "$(url "$LAB_SRV4" pub/up1.txt)" 2>&1)
[ -f "$root/pub/up1.txt" ] && kt_ok "without read-only an upload (STOR) works" || kt_fail "upload without read-only: $out"
# FTP bounce: the client (.2) names its neighbour .3 in PORT; the server
# follows it, and its SYN to .3 meets the implicit deny
implicit_denies() {
	lab_exec "$LAB_GW" nft list chain inet sluice rules_forward |
		awk 'index($0, "implicit final deny") { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}
r0=$(related_accepts); d0=$(implicit_denies)
got=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 --disable-eprt --ftp-port "$LAB_CLI4B" \
	"$(url "$LAB_SRV4" pub/data.bin)" 2>&1 | sha256sum)
r1=$(related_accepts); d1=$(implicit_denies)
[ "$got" != "$sum" ] && [ "$r1" = "$r0" ] && [ "$d1" -gt "$d0" ] &&
	kt_ok "FTP bounce (PORT $LAB_CLI4B from $LAB_CLI4): no related data connection; the server's SYNs denied ($((d1 - d0)))" ||
	kt_fail "FTP bounce: download ${got:0:16}, related SYNs $r0 -> $r1, implicit denies $d0 -> $d1"
# a server port no control session announced: not related, denied
out=$(printf 'x\n' | lab_exec "$LAB_CLI" timeout 5 socat -T 2 - "TCP4:$LAB_SRV4:30200,connect-timeout=2" 2>&1 | grep -c x)
[ "$out" = 0 ] && kt_ok "a data port no control session announced: denied" ||
	kt_fail "port 30200 answered without a control session"

# a published server (DNAT to the farm): passive and active through the
# public address; the kernel's FTP NAT helper rewrites the 227 reply
r0=$(related_accepts)
expect_fetch "published server $PUB: passive (PASV) download" "$PUB" passive-v4
expect_fetch "published server $PUB: active (PORT) download" "$PUB" active-v4
r1=$(related_accepts)
[ "$((r1 - r0))" -ge 2 ] && kt_ok "published: the data connections passed as related sessions ($((r1 - r0)))" ||
	kt_fail "published: related data connections counted $((r1 - r0)), want >= 2"

# --- without the filter: data connections are new sessions, denied
sed -i 's/^protocol ftp tcp 21 filter ftp$/protocol ftp tcp 21/' "$conf"
ctl reload >/dev/null && kt_ok "reload without the filter" || kt_fail "reload: $(ctl reload 2>&1)"
for mode in passive active; do
	got=$(fetch "$LAB_SRV4" $mode)
	[ "$got" != "$sum" ] && kt_ok "$mode download without the filter fails (${got:0:60})" ||
		kt_fail "$mode download passed without the filter"
done
out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 -I "$(url "$LAB_SRV4" pub/keep.txt)" 2>&1)
grep -qi "Content-Length" <<<"$out" && kt_ok "the control session itself is still allowed (SIZE answered)" ||
	kt_fail "control session without the filter: $out"

# --- read-only: downloads work, uploads, deletes, mkdir refused with an FTP error
sed -i 's/^protocol ftp tcp 21$/protocol ftp tcp 21 filter ftp read-only/' "$conf"
ctl reload >/dev/null && kt_ok "reload with filter ftp read-only" || kt_fail "reload: $(ctl reload 2>&1)"
c0=$(counter ftp_filter_refused)
expect_fetch "read-only: passive download" "$LAB_SRV4" passive
expect_fetch "read-only: active download [$LAB_SRV6]" "$LAB_SRV6" active
out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 "$(url "$LAB_SRV4" pub/)" 2>&1)
grep -q keep.txt <<<"$out" && kt_ok "read-only: listing works" || kt_fail "read-only listing: $out"
for a in "$LAB_SRV4" "$LAB_SRV6"; do
	out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 -T "$LAB_TMP/up.txt" "$(url "$a" pub/up2.txt)" 2>&1); rc=$?
	[ "$rc" != 0 ] && [ ! -e "$root/pub/up2.txt" ] && kt_ok "read-only: upload refused [$a] (curl $rc: ${out:0:70})" ||
		kt_fail "read-only upload [$a]: rc $rc, file $(ls "$root/pub")"
done
out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 -Q "DELE pub/keep.txt" "$(url "$LAB_SRV4" "")" 2>&1); rc=$?
[ "$rc" != 0 ] && [ -f "$root/pub/keep.txt" ] && kt_ok "read-only: DELE refused, the file kept (curl $rc: ${out:0:70})" ||
	kt_fail "read-only DELE: rc $rc, keep.txt $(ls "$root/pub")"
out=$(lab_exec "$LAB_CLI" curl -sS --connect-timeout 3 -m 8 -Q "mkd pub/newdir" "$(url "$LAB_SRV4" "")" 2>&1); rc=$?
[ "$rc" != 0 ] && [ ! -e "$root/pub/newdir" ] && kt_ok "read-only: mkd (lower case) refused (curl $rc: ${out:0:70})" ||
	kt_fail "read-only mkd: rc $rc, $(ls "$root/pub")"
grep -q "500" <<<"$out" && kt_ok "the client saw the server's 500 reply" || kt_fail "no 500 reply in: $out"
c1=$(counter ftp_filter_refused)
[ "$((c1 - c0))" -ge 4 ] && kt_ok "counter ftp_filter_refused +$((c1 - c0))" || kt_fail "ftp_filter_refused +$((c1 - c0)), want >= 4"
d=$(counter ftp_filter_dropped)
[ "$d" = 0 ] && kt_ok "counter ftp_filter_dropped 0" || kt_fail "ftp_filter_dropped $d"

# --- read-only judges what the server reads: a first data segment that
# starts before ISN + 1 (attack68 finding 3)
printf 'USER a\r\nSTOR plain.txt\r\n' | lab_exec "$LAB_CLI" timeout 4 socat -T 2 - "TCP4:$LAB_SRV4:2121" >/dev/null 2>&1
sleep 0.3
grep -q '^STXX plain.txt' "$LAB_TMP/ftplog.rx" && ! grep -q '^STOR' "$LAB_TMP/ftplog.rx" &&
	kt_ok "read-only on 2121: an ordinary client's STOR arrives as STXX" ||
	kt_fail "2121 ordinary client: $(cat -A "$LAB_TMP/ftplog.rx")"
: >"$LAB_TMP/ftplog.rx"
# the client's own kernel must not reset the hand-made session
lab_exec "$LAB_CLI" nft -f - <<'NFT'
table ip kt50_overlap {
	chain out {
		type filter hook output priority 0;
		tcp flags & rst == rst drop
	}
}
NFT
d0=$(counter ftp_filter_dropped)
out=$(lab_exec "$LAB_CLI" python3 "$KT_ROOT/tests/kernel/ftp_overlap.py" \
	"$LAB_CLI4" "$LAB_SRV4" 2121 'NOOP ' $'STOR evil.txt\r\n' 2>&1)
lab_exec "$LAB_CLI" nft delete table ip kt50_overlap
sleep 0.5
rx=$(cat -A "$LAB_TMP/ftplog.rx")
[ "$out" = sent ] && ! grep -q '^STOR' "$LAB_TMP/ftplog.rx" &&
	kt_ok "overlap before ISN+1: no STOR reached the server (it read: ${rx:-nothing})" ||
	kt_fail "overlap before ISN+1: the server read: $rx (client: $out)"
grep -q '^STXX evil.txt' "$LAB_TMP/ftplog.rx" &&
	kt_ok "overlap before ISN+1: the in-order resend was judged (STXX)" ||
	kt_fail "overlap before ISN+1: no judged resend: $rx"
d1=$(counter ftp_filter_dropped)
[ "$((d1 - d0))" -ge 1 ] && kt_ok "counter ftp_filter_dropped +$((d1 - d0)) (the overlapping segment)" ||
	kt_fail "ftp_filter_dropped +$((d1 - d0)), want >= 1"

# --- read-only and TCP Fast Open: a command in the client's SYN
cat >"$LAB_TMP/tfo.py" <<'PY'
import select, socket, sys, time
addr, msg = sys.argv[1], sys.argv[2].encode()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setblocking(False)
try:
    s.sendto(msg, socket.MSG_FASTOPEN, (addr, 2121))
    how = "syn"
except BlockingIOError:  # no cookie yet: the data follows the handshake
    select.select([], [s], [], 3)
    s.setblocking(True); s.send(msg)
    how = "after"
time.sleep(2.5)  # the SYN's loss: the client resends after its RTO (1 s)
s.close()
print(how)
PY
: >"$LAB_TMP/ftplog.rx"
d0=$(counter ftp_filter_dropped)
how=""
for c in first keep evil; do
	how="$how $(lab_exec "$LAB_CLI" python3 "$LAB_TMP/tfo.py" "$LAB_SRV4" "DELE $c.txt"$'\r\n' 2>&1)"
done
sleep 0.5
rx=$(cat -A "$LAB_TMP/ftplog.rx" | paste -sd' ')
d1=$(counter ftp_filter_dropped)
case $how in *syn*) ;; *) kt_fail "TCP Fast Open: no SYN carried data ($how): the test tested nothing" ;; esac
! grep -q '^DELE' "$LAB_TMP/ftplog.rx" &&
	kt_ok "TCP Fast Open: no DELE reached the server (sent:$how; it read: ${rx:-nothing})" ||
	kt_fail "TCP Fast Open: the server read: $rx (sent:$how)"
[ "$((d1 - d0))" -ge 1 ] && kt_ok "TCP Fast Open: the SYNs with data dropped, counted (ftp_filter_dropped +$((d1 - d0)))" ||
	kt_fail "TCP Fast Open: ftp_filter_dropped +$((d1 - d0)), want >= 1"

# --- the filter's slots: a flood of handshake-only sessions from the
# client's own /24 does not keep another user's session out
GWMAC=$(lab_exec "$LAB_GW" cat /sys/class/net/cli0/address)
n=$(lab_exec "$LAB_CLI" python3 "$KT_ROOT/tests/kernel/ftp_synspoof.py" gw0 "$GWMAC" "$LAB_SRV4" 2121 100 250 7)
sleep 2
: >"$LAB_TMP/ftplog.rx"
printf 'RETR after.txt\r\n' | lab_exec "$LAB_CLI" timeout 6 socat -T 2 - \
	"TCP4:$LAB_SRV4:2121,bind=$LAB_CLI4B,connect-timeout=3" >/dev/null 2>&1
sleep 0.3
grep -q '^RETR after.txt' "$LAB_TMP/ftplog.rx" &&
	kt_ok "slot flood ($n raw SYNs from 198.18.1.100-250): another client's read-only session still judged and passed" ||
	kt_fail "slot flood ($n raw SYNs): another client's session did not get through: $(cat -A "$LAB_TMP/ftplog.rx")"

kt_done
