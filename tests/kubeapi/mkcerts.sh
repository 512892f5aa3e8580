#!/usr/bin/env bash
# mkcerts.sh DIR [SAN...]: a throwaway CA and a server certificate for kubeapi.py, and a client
# certificate signed by the same CA (kubeconfig client-certificate tests), with the openssl CLI.
# DIR gets ca.crt ca.key server.crt server.key client.crt client.key. SANs default to
# IP:127.0.0.1 and DNS:localhost; pass more as "IP:192.0.2.1" or "DNS:name".
set -euo pipefail
dir=$1
shift
sans="IP:127.0.0.1,DNS:localhost"
for s in "$@"; do sans+=",$s"; done
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj "/CN=weft-test-ca" -keyout ca.key -out ca.crt 2>/dev/null
mk() { # mk NAME SUBJECT EXT
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
mk server "/CN=kubeapi" "subjectAltName=$sans
extendedKeyUsage=serverAuth"
mk client "/CN=system:node:test/O=system:nodes" "extendedKeyUsage=clientAuth"
chmod 0600 ./*.key
