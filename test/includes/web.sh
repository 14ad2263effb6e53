# A static web host on loopback: nginx with HTTPS, a test CA, and files served from a directory.

# make_test_ca DIR: writes DIR/ca.crt and a server certificate DIR/server.{crt,key} for 127.0.0.1 signed by it.
make_test_ca() {
	local dir=$1
	mkdir -p "${dir}"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "${dir}/ca.key" -out "${dir}/ca.crt" \
		-days 2 -subj "/CN=lxd-go test CA" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "${dir}/server.key" -out "${dir}/server.csr" \
		-subj "/CN=127.0.0.1" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"${dir}/ext.cnf"
	openssl x509 -req -in "${dir}/server.csr" -CA "${dir}/ca.crt" -CAkey "${dir}/ca.key" -CAcreateserial \
		-out "${dir}/server.crt" -days 2 -extfile "${dir}/ext.cnf" 2>/dev/null
}

# start_nginx DIR PORT LOCATIONS: serves HTTPS on 127.0.0.1:PORT with the certificates of make_test_ca DIR and the
# given location blocks (nginx syntax); stopped when the test ends. The access log is DIR/access.log. With NETNS set,
# nginx listens on that namespace's loopback.
start_nginx() {
	local dir=$1 port=$2 locations=$3
	mkdir -p "${dir}/tmp"
	cat >"${dir}/nginx.conf" <<NGINX
daemon on;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
	log_format withlxd '\$request \$status arch="\$http_lxd_server_architectures" version="\$http_lxd_server_version"';
	access_log ${dir}/access.log withlxd;
	client_body_temp_path ${dir}/tmp;
	proxy_temp_path ${dir}/tmp;
	fastcgi_temp_path ${dir}/tmp;
	uwsgi_temp_path ${dir}/tmp;
	scgi_temp_path ${dir}/tmp;
	types { application/json json; }
	default_type application/octet-stream;
	server {
		listen 127.0.0.1:${port} ssl;
		ssl_certificate ${dir}/server.crt;
		ssl_certificate_key ${dir}/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		${locations}
	}
}
NGINX
	# shellcheck disable=SC2046
	$(netns_prefix) nginx -c "${dir}/nginx.conf" -p "${dir}"
	on_exit sh -c "kill \$(cat '${dir}/nginx.pid') 2>/dev/null"
}
