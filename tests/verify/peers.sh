# peers.sh — the real peers' set-up shared by the verifier lab, the
# verifier soak and bench/verify_scale.sh (sourced; bash). Works in the
# current directory; nothing is started here.

# peer_ca NAME: a self-signed EC CA in NAME.key and NAME.pem (2 days).
peer_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$1" 2>/dev/null
}

# peer_cert NAME CN SAN CA: NAME.key and NAME.pem for CN with the
# subjectAltName SAN (e.g. "DNS:www.lab.test,IP:127.0.0.1"), signed by CA.
peer_cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" \
		-CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}

# peer_nginx_head DIR CONNECTIONS: prints the head of a private nginx.conf
# (pid, logs and temp paths in DIR, one worker with CONNECTIONS, access log
# off, long keep-alive) up to and including "http {": the caller appends
# its server blocks and the closing brace. Creates DIR/tmp.
peer_nginx_head() {
	mkdir -p "$1/tmp"
	cat <<NGINX
worker_processes 1;
pid $1/nginx.pid;
error_log $1/nginx_error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections $2; }
http {
	access_log off;
	client_body_temp_path $1/tmp/body;
	proxy_temp_path $1/tmp/proxy;
	fastcgi_temp_path $1/tmp/fastcgi;
	uwsgi_temp_path $1/tmp/uwsgi;
	scgi_temp_path $1/tmp/scgi;
	keepalive_requests 100000000;
	keepalive_timeout 300s;
	default_type text/plain;
NGINX
}

# peer_ntlm_users FILE DOMAIN:USER:PASSWORD...: an NTLM user file as
# gss-ntlmssp reads it (NTLM_USER_FILE), world-readable for Apache's
# workers.
peer_ntlm_users() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$f"
	chmod 644 "$f"
}

# peer_apache_head DIR NAME PORT...: prints the head of a private Apache
# config: listening on 127.0.0.1:PORT (each), pid DIR/NAME.pid, errors in
# DIR/NAME_error.log, children as www-data, mod_mpm_event, authz/authn
# core, mod_auth_gssapi and mod_dir loaded, DIR/www served to all. The
# caller appends its modules, keep-alive settings and <Location> blocks.
peer_apache_head() {
	local dir=$1 name=$2 p M=/usr/lib/apache2/modules
	shift 2
	echo "ServerRoot /etc/apache2"
	echo "ServerName localhost"
	for p; do
		echo "Listen 127.0.0.1:$p"
	done
	cat <<APACHE
PidFile $dir/$name.pid
ErrorLog $dir/${name}_error.log
LogLevel warn
User www-data
Group www-data
Mutex file:$dir default
DefaultRuntimeDir $dir
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule auth_gssapi_module $M/mod_auth_gssapi.so
LoadModule dir_module $M/mod_dir.so
DocumentRoot $dir/www
DirectoryIndex index.html
<Directory $dir/www>
	Require all granted
</Directory>
APACHE
}

# peer_gss_location DIR PATH PRINCIPAL: prints a <Location PATH> only
# PRINCIPAL may read, behind mod_auth_gssapi (Kerberos alone, keytab
# DIR/http.keytab, no Basic fallback).
peer_gss_location() {
	cat <<APACHE
<Location $2>
	AuthType GSSAPI
	AuthName "lab"
	GssapiCredStore keytab:$1/http.keytab
	GssapiAllowedMech krb5
	GssapiBasicAuth Off
	Require user $3
</Location>
APACHE
}

# peer_apache_ntlm DIR NAME PORT_KA PORT_NOKA: prints an Apache config
# (pid, logs, mutex and runtime files DIR/NAME.*) serving DIR/www with
# /ntlm/ behind mod_auth_gssapi restricted to the gss-ntlmssp mechanism
# (Negotiate and raw NTLM, connection-bound: the handshake's legs must come
# on one connection), keep-alive on at 127.0.0.1:PORT_KA and off at
# 127.0.0.1:PORT_NOKA. The users are in the file named by NTLM_USER_FILE in
# Apache's environment. The access log (DIR/NAME_access.log) has a line
# "REMOTE_PORT KEEPALIVE_NO STATUS USER" per request.
peer_apache_ntlm() {
	mkdir -p "$1/www/ntlm"
	echo "ntlm ok" >"$1/www/ntlm/index.html"
	peer_apache_head "$1" "$2" "$3" "$4"
	cat <<APACHE
LogFormat "%{remote}p %k %s %u" lab
CustomLog $1/$2_access.log lab
KeepAlive On
KeepAliveTimeout 300
MaxKeepAliveRequests 0
<VirtualHost 127.0.0.1:$4>
	KeepAlive Off
</VirtualHost>
<Location /ntlm/>
	AuthType GSSAPI
	AuthName "lab"
	GssapiAllowedMech ntlmssp
	GssapiConnectionBound On
	GssapiBasicAuth Off
	Require valid-user
</Location>
APACHE
}

# peer_krb DIR REALM KDC_PORT: an MIT KDC's files in DIR (krb5.conf,
# kdc.conf, the database) with principals alice (alicepw), mallory
# (mallorypw) and HTTP/localhost (keytab DIR/http.keytab, readable by
# www-data). Exports KRB5_CONFIG and KRB5_KDC_PROFILE; start the KDC with
# `krb5kdc -n -P DIR/kdc.pid`.
peer_krb() {
	export KRB5_CONFIG=$1/krb5.conf KRB5_KDC_PROFILE=$1/kdc.conf
	cat >"$1/krb5.conf" <<KRB
[libdefaults]
	default_realm = $2
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1
[realms]
	$2 = {
		kdc = 127.0.0.1:$3
	}
[domain_realm]
	localhost = $2
KRB
	cat >"$1/kdc.conf" <<KRB
[kdcdefaults]
	kdc_ports = $3
	kdc_tcp_ports = $3
[realms]
	$2 = {
		database_name = $1/principal
		key_stash_file = $1/stash
		acl_file = $1/kadm5.acl
		max_life = 1h
	}
[logging]
	kdc = FILE:$1/kdc.log
KRB
	: >"$1/kadm5.acl"
	kdb5_util create -s -r "$2" -P masterpw >/dev/null
	kadmin.local -q "addprinc -pw alicepw alice" >/dev/null
	kadmin.local -q "addprinc -pw mallorypw mallory" >/dev/null
	kadmin.local -q "addprinc -randkey HTTP/localhost" >/dev/null
	kadmin.local -q "ktadd -k $1/http.keytab HTTP/localhost" >/dev/null
	chown www-data "$1/http.keytab"
}

# peer_apache_gss DIR REALM PORT: prints an Apache config (files DIR/gss.*)
# serving DIR/www on 127.0.0.1:PORT with /gss/ for alice@REALM and
# /gss-deny/ for mallory@REALM behind mod_auth_gssapi (Kerberos, keytab
# DIR/http.keytab); keep-alive on.
peer_apache_gss() {
	mkdir -p "$1/www/gss" "$1/www/gss-deny"
	echo "gss ok" >"$1/www/gss/index.html"
	echo "gss deny" >"$1/www/gss-deny/index.html"
	peer_apache_head "$1" gss "$3"
	cat <<APACHE
KeepAlive On
KeepAliveTimeout 300
MaxKeepAliveRequests 0
APACHE
	peer_gss_location "$1" /gss/ "alice@$2"
	peer_gss_location "$1" /gss-deny/ "mallory@$2"
}
