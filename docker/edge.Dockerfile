# syntax=docker/dockerfile:1
# The edge: the official OpenResty image plus set-backend's compiled Lua, the
# openresty/ folder and a config rendered from the environment at start
# (docker/edge/start.sh).
#
#   docker build -f docker/edge.Dockerfile -t set-backend/edge .
#
# Not built here: the machine this project is developed on has no Docker engine.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install script is needed to compile the Lua (see control-plane.Dockerfile).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY lua ./lua
RUN npm run build:lua

FROM openresty/openresty:1.27.1.2-bookworm
# envsubst renders the config; curl runs the health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gettext-base curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/build/lua /app/build/lua
COPY openresty /app/openresty
COPY docker/edge/nginx.conf.template docker/edge/start.sh /app/docker/edge/
# A new named volume mounted here starts with this folder's owner (nobody,
# whom the workers run as); start.sh chowns it again for older volumes.
RUN mkdir -p /var/lib/set-backend/state \
 && chown nobody:nogroup /var/lib/set-backend/state \
 && chmod 0755 /app/docker/edge/start.sh
ENV SET_BACKEND_STATE_DIR=/var/lib/set-backend/state \
    SET_BACKEND_PAGES_DIR=/app/openresty/pages
VOLUME /var/lib/set-backend/state
EXPOSE 8080 8082
# QUIT lets workers finish the requests they are serving.
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/app/docker/edge/start.sh"]
