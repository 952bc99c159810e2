# peers.sh — the lab's real servers, sourced after lab.sh:
#   peers_dns_up    dnsmasq on the DNS host (198.18.3.2, 2001:db8:3::2), port 53
#   peers_ldap_up   slapd on the directory host (ldap://198.18.4.2:389)
# Both are registered with lab_spawn, so lab_down kills them. Names:
#   www.lab.sluice.test        A/AAAA the first server (.2), PTR back: confirmed
#   198.18.2.3 / 2001:db8:2::3 PTR www.lab.sluice.test, which does not resolve
#                              to them: a spoofed PTR (not forward-confirmed)
#   api.intra.lab.sluice.test  A 198.18.2.2 (no PTR)
# PEERS_DNS_EXTRA, when set, is appended to dnsmasq's configuration (the
# demo adds a name whose address's PTR does not confirm it: a CDN's shape).
# Directory (tests/identity/slapd_lab.sh): alice (netadmins), carol and dave
# (staff), base dc=lab,dc=sluice,dc=test.
PEERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

peers_dns_up() {
	local d=$LAB_TMP/dns
	mkdir -p "$d"
	cat >"$d/dnsmasq.conf" <<CONF
no-resolv
no-hosts
no-daemon
bind-interfaces
listen-address=$LAB_DNS4,$LAB_DNS6
port=53
local-ttl=30
log-queries
log-facility=$d/queries.log
host-record=www.lab.sluice.test,$LAB_SRV4,$LAB_SRV6
ptr-record=3.2.18.198.in-addr.arpa,www.lab.sluice.test
ptr-record=3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa,www.lab.sluice.test
address=/api.intra.lab.sluice.test/$LAB_SRV4
${PEERS_DNS_EXTRA:-}
CONF
	peers_dnsmasq "$d/dnsmasq.conf"
}

# peers_dnsmasq CONF: dnsmasq with the configuration file CONF on the DNS
# host; PEERS_DNS_PID gets its pid. Returns once it listens on
# $LAB_DNS4:53; 1, with a message, when it does not within 5 s.
peers_dnsmasq() {
	PEERS_DNS_PID=$(lab_spawn "$LAB_DNS" dnsmasq --conf-file="$1")
	local i
	for i in $(seq 50); do
		lab_exec "$LAB_DNS" ss -Hlun | grep -q "$LAB_DNS4:53" && return 0
		sleep 0.1
	done
	echo "peers: dnsmasq did not start" >&2; return 1
}

peers_ldap_up() {
	. "$PEERS_DIR/../identity/slapd_lab.sh"
	slapd_setup "$LAB_TMP/ldap" 389 || { echo "peers: slapd_setup failed" >&2; return 1; }
	SLAPD_URI="ldap://$LAB_DIR4:389/"
	# with SLAPD_TLS_IP set (slapd_lab.sh), also LDAPS on 636
	local uris=$SLAPD_URI
	[ -n "${SLAPD_TLS_IP:-}" ] && uris="$uris ldaps://$LAB_DIR4:636/"
	PEERS_LDAP_PID=$(LAB_SPAWN_LOG=$LAB_TMP/ldap/slapd.log lab_spawn "$LAB_DIR" \
		slapd -f "$SLAPD_DIR/slapd.conf" -h "$uris" -d 0)
	local i
	for i in $(seq 100); do
		lab_exec "$LAB_DIR" ldapsearch -x -H "$SLAPD_URI" -b "$SLAPD_SUFFIX" -s base \
			-o nettimeout=1 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "peers: slapd did not start" >&2; cat "$LAB_TMP/ldap/slapd.log" >&2; return 1
}
