#!/bin/bash
# Docker HEALTHCHECK for the marquee runtime image: `marquee-healthcheck [PATH]`
# exits 0 when GET PATH (default /healthz) on 127.0.0.1 answers 200.
#
# Why bash and not curl: debian:12-slim has no curl, and installing it adds
# libcurl4 with a dozen libraries (LDAP, SSH, RTMP, Kerberos...) to an image
# that otherwise only needs Marquee's own runtime libraries. bash is already
# in the base image and speaks enough HTTP/1.1 through /dev/tcp for this.
#
# Where to knock comes from the environment, the container's way to set
# http.port and http.address (MARQUEE_HTTP__PORT, MARQUEE_HTTP__ADDRESS): a
# --port, --listen, --set or TOML value is invisible to this probe, so set
# those two through the environment when the defaults do not hold.
set -u
path="${1:-/healthz}"
port="${MARQUEE_HTTP__PORT:-8080}"
host="${MARQUEE_HTTP__ADDRESS:-127.0.0.1}"
[[ "$host" == "0.0.0.0" ]] && host=127.0.0.1
[[ "$host" == "::" ]] && host=::1
exec 3<>"/dev/tcp/$host/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 5 status <&3 || exit 1
[[ "$status" == "HTTP/1.1 200"* ]]
