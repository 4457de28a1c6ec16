# syntax=docker/dockerfile:1
#
# The images of docker-compose.yml, built from the repository root. Stages:
#
#   node      the Node.js the web build needs (only copied from)
#   build     compiles the web client and the server; never run itself
#   backend   the gallery server, with the built web client it serves
#   frontend  nginx in front of the backends: the hashed assets and the uploads, the rest proxied
#
# docker compose picks a stage with `target:`; by hand: `docker build --target backend .`.
# Needs BuildKit (the default builder of current Docker) for the cache mounts.

# Node.js for the web build (npm installs binaryen's wasm-opt). Debian bookworm's nodejs is 18,
# and scripts/lib.sh (ensure_node) requires 20 or newer: the official image's build is copied
# into the build stage instead, which runs on the same Debian release.
FROM node:22-bookworm-slim AS node

# The build: the same steps as scripts/run.sh, through scripts/lib.sh, so the image and a local
# build use the same tool versions (trunk, the wasm-bindgen CLI that Cargo.lock names, binaryen
# from web/package-lock.json) and the same web build (web/dist with .br and .gz copies).
FROM rust:1.95-bookworm AS build
# lib.sh is bash (local variables, arrays), and scripts/run.sh runs it with these options.
SHELL ["/bin/bash", "-euo", "pipefail", "-c"]
# Queries are checked against the committed .sqlx/ data: there is no database here.
ENV SQLX_OFFLINE=true
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
# npm's entry points are symbolic links into its package, as in the node image.
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /src

# The tools, in a layer of their own: rebuilt only when lib.sh or Cargo.lock (which names the
# wasm-bindgen version) change. Installing trunk and wasm-bindgen-cli takes several minutes.
COPY scripts/lib.sh scripts/lib.sh
COPY Cargo.lock Cargo.lock
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    source scripts/lib.sh \
    && ensure_rust_tools \
    && ensure_node \
    && ensure_apt brotli:brotli gzip:gzip

# The workspace: every member's sources (cargo reads every member's manifest), the query data.
COPY Cargo.toml Cargo.toml
COPY .sqlx .sqlx
COPY types types
COPY backend backend
COPY bench bench
COPY web web
COPY scripts scripts

# The web client, into web/dist (scripts/lib.sh build_web: trunk with wasm-opt, then brotli
# and gzip copies of every hashed asset).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    --mount=type=cache,target=/root/.npm \
    source scripts/lib.sh \
    && build_web

# The server. target/ is a cache mount, which is gone after this step: the binary is copied out.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    SQLX_OFFLINE=true cargo build --release --locked -p gallery \
    && install -D --mode=0755 target/release/gallery /out/gallery

# The backend: the server and the web client (it serves the page and computes the page's
# Content-Security-Policy from index.html). Data (uploads) under /data, a volume shared by
# every instance and, read-only, by nginx. PostgreSQL is reached through DATABASE_URL.
FROM debian:bookworm-slim AS backend
# curl only for the health check.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 gallery \
    && useradd --uid 10001 --gid gallery --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin gallery \
    && mkdir -p /data \
    && chown gallery:gallery /data
COPY --from=build /out/gallery /usr/local/bin/gallery
COPY --from=build /src/web/dist /app/web/dist
ENV GALLERY_ADDR=0.0.0.0:8080 \
    GALLERY_DATA_DIR=/data \
    GALLERY_WEB_DIR=/app/web/dist \
    GALLERY_PRODUCTION=1
WORKDIR /app
USER gallery
EXPOSE 8080
# Ready: the process answers and PostgreSQL answers it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/ready"]
CMD ["gallery", "serve"]

# The frontend: Debian's nginx with the brotli_static module (the build the tests run), the
# built web client, and nginx.conf as a template that scripts/render-nginx.sh fills from the
# GALLERY_NGINX_* variables at every start. Runs as a non-root user on port 8080, with its pid
# and temporary files under GALLERY_NGINX_RUN_DIR; errors go to stderr (docker logs).
FROM debian:bookworm-slim AS frontend
# gettext-base has envsubst (render-nginx.sh); curl only for the health check.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       nginx libnginx-mod-http-brotli-static gettext-base curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 gallery \
    && useradd --uid 10001 --gid gallery --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin gallery
COPY --from=build /src/web/dist /srv/web
COPY nginx.conf /etc/gallery/nginx.conf.template
COPY --chmod=0755 scripts/render-nginx.sh /usr/local/bin/render-nginx.sh
# GALLERY_NGINX_BACKENDS (the instances) comes from docker-compose.yml; GALLERY_MAX_UPLOAD_MIB
# too, so that the body limit matches the backend's upload limit.
ENV GALLERY_NGINX_LISTEN=8080 \
    GALLERY_NGINX_WEB_ROOT=/srv/web \
    GALLERY_NGINX_UPLOADS=/data/uploads \
    GALLERY_NGINX_RUN_DIR=/tmp
USER gallery
EXPOSE 8080
# nginx answers and reaches a backend (/health is proxied).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/health"]
# SIGQUIT: nginx finishes the requests under way before it stops.
STOPSIGNAL SIGQUIT
CMD ["sh", "-c", "render-nginx.sh /etc/gallery/nginx.conf.template > \"$GALLERY_NGINX_RUN_DIR/nginx.conf\" && exec nginx -c \"$GALLERY_NGINX_RUN_DIR/nginx.conf\" -e stderr -g 'daemon off;'"]
