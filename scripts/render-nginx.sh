#!/usr/bin/env sh
# Fills the nginx.conf template for one deployment and writes the result to standard output.
# docker-compose's frontend image and scripts/test.sh both use it, so they run one
# configuration. Settings, from the environment:
#
#   GALLERY_NGINX_BACKENDS   the instances, host:port separated by spaces (required)
#   GALLERY_NGINX_WEB_ROOT   the built web client, trunk's dist/ (required)
#   GALLERY_NGINX_UPLOADS    the instances' shared <GALLERY_DATA_DIR>/uploads (required)
#   GALLERY_NGINX_LISTEN     what nginx listens on: a port or address:port (8080)
#   GALLERY_NGINX_RUN_DIR    a writable directory for nginx's pid and temporary files (/tmp)
#   GALLERY_MAX_UPLOAD_MIB   the backend's upload limit, so that the body limit matches (20)
#
# Usage: scripts/render-nginx.sh [TEMPLATE] > nginx.conf   (TEMPLATE: nginx.conf beside scripts/)
set -eu

template=${1:-"$(dirname "$0")/../nginx.conf"}
[ -f "$template" ] || { echo "error: no nginx template at $template" >&2; exit 1; }
for required in GALLERY_NGINX_BACKENDS GALLERY_NGINX_WEB_ROOT GALLERY_NGINX_UPLOADS; do
  eval "value=\${$required:-}"
  [ -n "$value" ] || { echo "error: $required is not set" >&2; exit 1; }
done

GALLERY_NGINX_LISTEN=${GALLERY_NGINX_LISTEN:-8080}
GALLERY_NGINX_RUN_DIR=${GALLERY_NGINX_RUN_DIR:-/tmp}
max_upload_mib=${GALLERY_MAX_UPLOAD_MIB:-20}
case $max_upload_mib in
  '' | *[!0-9]*) echo "error: GALLERY_MAX_UPLOAD_MIB is not a whole number: $max_upload_mib" >&2; exit 1 ;;
esac
# The form around the file (its other fields, the multipart framing) needs well under 1 MiB.
GALLERY_NGINX_BODY_LIMIT="$((max_upload_mib + 1))m"
# An instance that stops answering is left alone for a few seconds, then tried again.
GALLERY_NGINX_UPSTREAM_SERVERS=$(
  for backend in $GALLERY_NGINX_BACKENDS; do
    printf 'server %s max_fails=1 fail_timeout=5s;\n        ' "$backend"
  done
)
export GALLERY_NGINX_LISTEN GALLERY_NGINX_RUN_DIR GALLERY_NGINX_BODY_LIMIT \
  GALLERY_NGINX_UPSTREAM_SERVERS GALLERY_NGINX_WEB_ROOT GALLERY_NGINX_UPLOADS

# Only these placeholders: nginx's own $variables stay as they are.
envsubst '${GALLERY_NGINX_LISTEN} ${GALLERY_NGINX_RUN_DIR} ${GALLERY_NGINX_BODY_LIMIT}
  ${GALLERY_NGINX_UPSTREAM_SERVERS} ${GALLERY_NGINX_WEB_ROOT} ${GALLERY_NGINX_UPLOADS}' <"$template"
