#!/bin/sh
# Starts the edge in its container: prepares the prefix and the state folder,
# renders nginx.conf and the set-backend http include from the environment,
# then runs OpenResty in the foreground as PID 1's replacement.
#
# Settings (defaults in brackets): EDGE_LISTEN [0.0.0.0:8080],
# SYNC_LISTEN [0.0.0.0:8082], CONTROL_PLANE_ADDRESS [control-plane:8081],
# ADMIN_HOST [l.io], ROUTES_DICT_SIZE [64m], EDGE_WORKERS [auto],
# WORKER_CONNECTIONS [4096], PROXY_CONNECT_TIMEOUT [5s],
# PROXY_READ_TIMEOUT [60s], UPSTREAM_KEEPALIVE [256], DNS_RESOLVER
# [127.0.0.11, Docker's embedded DNS], ERROR_LOG_LEVEL [notice],
# SET_BACKEND_STATE_DIR [/var/lib/set-backend/state]. The SET_BACKEND_*
# variables reach the Lua through the env lines of set_backend_main.conf.
set -eu

app=/app
prefix=/var/lib/set-backend/edge
state="${SET_BACKEND_STATE_DIR:-/var/lib/set-backend/state}"
export SET_BACKEND_STATE_DIR="$state"

mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp" "$state"
# The master runs as root and the workers as nobody; the workers write the
# table to the state folder, and a named volume mounted there may belong to
# root. The official image's entrypoint does not see to it, so this does.
chown nobody:nogroup "$state"
chmod 0755 "$state"

# Only the named variables are replaced: nginx's own $variables stay as they
# are. They are set for envsubst alone, never exported to OpenResty (LuaJIT
# would read LUA_PATH as its own search path).
LUA_PATH="$app/build/lua" \
ROUTES_DICT_SIZE="${ROUTES_DICT_SIZE:-64m}" \
PROXY_CONNECT_TIMEOUT="${PROXY_CONNECT_TIMEOUT:-5s}" \
PROXY_READ_TIMEOUT="${PROXY_READ_TIMEOUT:-60s}" \
UPSTREAM_KEEPALIVE="${UPSTREAM_KEEPALIVE:-256}" \
SYNC_LISTEN="${SYNC_LISTEN:-0.0.0.0:8082}" \
envsubst '${LUA_PATH} ${ROUTES_DICT_SIZE} ${PROXY_CONNECT_TIMEOUT} ${PROXY_READ_TIMEOUT} ${UPSTREAM_KEEPALIVE} ${SYNC_LISTEN}' \
  < "$app/openresty/set_backend_http.conf.template" > "$prefix/conf/set_backend_http.conf"

LOAD_MODULES="# lua-nginx-module is built into OpenResty." \
WORKER_PROCESSES="${EDGE_WORKERS:-auto}" \
WORKER_CONNECTIONS="${WORKER_CONNECTIONS:-4096}" \
PREFIX="$prefix" \
ERROR_LOG_LEVEL="${ERROR_LOG_LEVEL:-notice}" \
OPENRESTY_DIR="$app/openresty" \
DNS_RESOLVER="${DNS_RESOLVER:-127.0.0.11}" \
CONTROL_PLANE_ADDRESS="${CONTROL_PLANE_ADDRESS:-control-plane:8081}" \
EDGE_LISTEN="${EDGE_LISTEN:-0.0.0.0:8080}" \
ADMIN_HOST="${ADMIN_HOST:-l.io}" \
ADMIN_MAX_BODY=64m \
envsubst '${LOAD_MODULES} ${WORKER_PROCESSES} ${WORKER_CONNECTIONS} ${PREFIX} ${ERROR_LOG_LEVEL} ${OPENRESTY_DIR} ${DNS_RESOLVER} ${CONTROL_PLANE_ADDRESS} ${EDGE_LISTEN} ${ADMIN_HOST} ${ADMIN_MAX_BODY}' \
  < "$app/docker/edge/nginx.conf.template" > "$prefix/conf/nginx.conf"

exec openresty -p "$prefix" -c "$prefix/conf/nginx.conf" -e stderr "$@"
