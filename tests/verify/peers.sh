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
