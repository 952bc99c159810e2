#!/usr/bin/env bash
# setup.sh — install every Debian package sluice needs to build, test and run
# its lab (build tools, libraries, test peers). Idempotent: a second run only
# checks. Run as root on Debian 12 (bookworm) or newer. This is the lab's
# list; what a gateway needs to run sluice is the package's Depends:
# (debian/control: the libraries, iptables; nftables and conntrack
# recommended).
set -euo pipefail

PKGS=(
  # build (xxd: the dashboard page's files embedded into sluiced)
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev xxd
  # libraries (DESIGN.md §5)
  libmnl-dev libnetfilter-queue-dev libnetfilter-conntrack-dev libnftables-dev libnftnl-dev
  libnetfilter-log-dev
  libjansson-dev
  libunistring-dev
  libevent-dev libc-ares-dev libldap-dev libcurl4-openssl-dev libkrb5-dev
  # the directory's SASL GSSAPI bind (sasl.h; Cyrus SASL's GSSAPI mechanism)
  libsasl2-dev libsasl2-modules-gssapi-mit
  libsystemd-dev libcap-ng-dev nettle-dev
  # the kernel scenarios read sluicectl's JSON with jq (a C program: no
  # interpreter's start-up on every poll of a loaded host)
  jq
  # the Debian package (debian/, scripts/deb.sh, tests/package): a gateway
  # itself needs only what debian/control's Depends: lists
  debhelper devscripts lintian fakeroot dpkg-dev go-md2man man-db logrotate
  # systemd-nspawn: the package's unit under systemd as PID 1, in a
  # container booted from this machine's root (tests/kernel/56_systemd_unit.sh)
  systemd-container
  # SHA-1 and base64 for the firewall log's Community ID (ecs format)
  libssl-dev
  # tests
  libcmocka-dev valgrind python3
  # promtool: checks the /metrics exposition and contrib/prometheus rules
  # (tests/kernel/42_prom_conventions.sh, tests/stats/check_contrib.sh)
  prometheus
  # the dashboard page looked at in headless Chromium through chromedriver
  # (tests/kernel/49_dashboard.sh, the login portal in 51_portal.sh); a
  # font for its screenshots
  chromium chromium-driver fonts-dejavu-core
  # kernel lab
  iproute2 iputils-ping nftables iptables conntrack procps psmisc
  # a neighbour firewall manager (tests/kernel/29_ufw.sh runs its init
  # script on a private copy of its configuration; ufw stays disabled)
  ufw
  # neighbours run by tests/kernel/52_coexist_docker_firewalld.sh inside the
  # gateway namespace only (private bus, configuration, data and /run);
  # their units are disabled on install below, so the host never runs them
  docker.io firewalld dbus-daemon
  # lab peers and traffic
  dnsmasq slapd ldap-utils nginx-light apache2 libapache2-mod-auth-gssapi
  krb5-kdc krb5-admin-server krb5-user gss-ntlmssp iperf3 curl socat ncat openssl
  # an FTP server for `filter ftp` (tests/kernel/50_ftp.sh; not started as a service there)
  vsftpd
  # a real Active Directory for the identity tests (tests/identity/run_ad.sh)
  samba samba-ad-dc samba-ad-provision
  freeradius-utils freeradius
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Daemons shipped by these packages must not start on install: the tests
  # start their own instances inside lab namespaces.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Docker and firewalld enable themselves for the next boot; a test host
  # must not start either (firewalld's default zone admits only ssh and
  # dhcpv6-client): disabled when this run installed them
  for p in "${missing[@]}"; do
    case $p in
      docker.io) units="docker.service docker.socket containerd.service" ;;
      firewalld) units="firewalld.service" ;;
      *) continue ;;
    esac
    command -v systemctl >/dev/null && systemctl disable $units >/dev/null 2>&1 || true
  done
fi
echo "setup: all ${#PKGS[@]} packages present"
