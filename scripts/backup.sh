#!/usr/bin/env bash
# Backs up a gallery: its PostgreSQL database and its uploaded files, consistently, while the
# server keeps running. Installs nothing and starts nothing: it works on the database
# DATABASE_URL names and the data directory GALLERY_DATA_DIR names (or the options).
#
#   scripts/backup.sh [--database-url URL] [--data-dir DIR] OUTPUT_DIR
#
# OUTPUT_DIR must not exist, or be empty. It receives:
#   database.dump     pg_dump --format=custom, one snapshot
#   uploads.tar       <data dir>/uploads without tmp/ (member names uploads/ab/<sha256>.<ext>)
#   uploads.sha256    sha256sum of every file in uploads.tar (restore checks them)
#   backup.info       when, and with which PostgreSQL versions
#   MANIFEST.sha256   sha256sum of the four above (scripts/restore.sh refuses a damaged backup)
#
# Consistency: while it runs it holds the session advisory lock 7412063004 exclusively, and the
# server deletes no upload file while it cannot take that lock shared; so every file a row of
# the dump names is still there when the files are archived (files added meanwhile are
# harmless: the server's sweep removes unreferenced ones). It checks that, and fails loudly if
# a file the dump references is missing or does not match its name. On any failure it exits
# non-zero and leaves no OUTPUT_DIR behind.
#
# The backup holds every account's data: keep it private (OUTPUT_DIR is created mode 700).
# The URL's password reaches PostgreSQL's programs in PGPASSWORD, not on their command lines
# (which other users can see): prefer DATABASE_URL to --database-url when it has one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export LC_ALL=C

# The server takes it shared before it deletes an upload file (backend/src/photos/files.rs).
BACKUP_LOCK_KEY=7412063004
# How long to wait for the lock (a deletion under way holds it shared for a moment).
LOCK_TIMEOUT_SECONDS=60

usage() { sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "$0"; }

database_url=${DATABASE_URL:-}
data_dir=${GALLERY_DATA_DIR:-}
output=""
while [ $# -gt 0 ]; do
  case $1 in
    --database-url) [ $# -ge 2 ] || die "--database-url needs a value"; database_url=$2; shift 2 ;;
    --database-url=*) database_url=${1#*=}; shift ;;
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a value"; data_dir=$2; shift 2 ;;
    --data-dir=*) data_dir=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; [ $# -eq 1 ] && [ -z "$output" ] || die "one OUTPUT_DIR only (see --help)"; output=$1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$output" ] || die "one OUTPUT_DIR only (see --help)"; output=$1; shift ;;
  esac
done
[ -n "$output" ] || die "usage: scripts/backup.sh [--database-url URL] [--data-dir DIR] OUTPUT_DIR"
[ -n "$database_url" ] || die "no database: set DATABASE_URL or pass --database-url (scripts/run.sh's private cluster: postgresql:///gallery?host=<data dir>/postgres/run&user=gallery)"
[ -n "$data_dir" ] || die "no data directory: set GALLERY_DATA_DIR or pass --data-dir"
[ -d "$data_dir/uploads" ] || die "$data_dir/uploads is not a directory: is $data_dir the server's GALLERY_DATA_DIR?"

# A password in the URL goes to PGPASSWORD instead (other users can read command lines).
if [[ $database_url =~ ^(postgres(ql)?://)([^/?#@:]*):([^/?#@]*)@(.*)$ ]]; then
  password=${BASH_REMATCH[4]//\\/\\\\}
  printf -v PGPASSWORD '%b' "${password//%/\\x}" # percent-decoded
  export PGPASSWORD
  database_url="${BASH_REMATCH[1]}${BASH_REMATCH[3]}@${BASH_REMATCH[5]}"
  unset password
fi

# PostgreSQL's client programs: from PATH, else the newest installed server's.
pg_tool() {
  if command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
  else
    local dir
    dir=$(pg_bin_dir) && [ -x "$dir/$1" ] || die "$1 not found: install PostgreSQL's client programs"
    echo "$dir/$1"
  fi
}
PG_DUMP=$(pg_tool pg_dump)
PG_RESTORE=$(pg_tool pg_restore)
PSQL=$(pg_tool psql)
psql_query() { "$PSQL" -X -q -A -t -w -v ON_ERROR_STOP=1 -d "$database_url" -c "$1"; }

output=${output%/}
if [ -e "$output" ]; then
  [ -d "$output" ] || die "$output exists and is not a directory"
  [ -z "$(ls -A "$output")" ] || die "$output is not empty: back up into a new directory"
fi
mkdir -p "$(dirname "$output")"

partial="" lock_pid="" lock_in="" lock_out=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$lock_pid" ]; then
    # Ending the session releases the lock (psql may be waiting for it: stop it).
    { exec {lock_in}>&-; } 2>/dev/null || true
    kill -TERM "$lock_pid" 2>/dev/null || true
    wait "$lock_pid" 2>/dev/null || true
  fi
  if [ -n "$partial" ]; then
    rm -rf "$partial"
    [ "$status" -eq 0 ] || printf 'error: no backup was written\n' >&2
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Written here, renamed to OUTPUT_DIR once complete and checked.
partial=$(mktemp -d "$output.partial.XXXXXX")
work="$partial/.work"
mkdir "$work"

# The lock lives in a psql session kept open beside the backup.
log "taking the backup lock (the server deletes no upload file while it is held)"
coproc LOCK { exec "$PSQL" -X -q -A -t -w -v ON_ERROR_STOP=1 -d "$database_url"; }
lock_pid=$LOCK_PID lock_in=${LOCK[1]} lock_out=${LOCK[0]}
printf "set lock_timeout = '%ss';\nselect 'locked' from pg_advisory_lock(%s);\n" \
  "$LOCK_TIMEOUT_SECONDS" "$BACKUP_LOCK_KEY" >&"$lock_in"
reply=""
read -r -t $((LOCK_TIMEOUT_SECONDS + 30)) -u "$lock_out" reply || true
[ "$reply" = locked ] ||
  die "could not take the backup lock $BACKUP_LOCK_KEY (database unreachable, or the lock held over ${LOCK_TIMEOUT_SECONDS}s, e.g. by another backup)"

server_version=$(psql_query "select version()") || die "cannot query the database"
pg_dump_version=$("$PG_DUMP" --version) || die "$PG_DUMP does not run"

log "dumping the database ($pg_dump_version)"
"$PG_DUMP" --format=custom --no-password --file="$partial/database.dump" --dbname="$database_url" ||
  die "pg_dump failed (a pg_dump older than the server refuses to dump it)"

# The files the dumped rows name, read back from the dump itself.
"$PG_RESTORE" --file=- --data-only --table=photos "$partial/database.dump" | awk -F'\t' '
  /^COPY [a-z_.]*photos \(/ {
    columns = $0
    sub(/^COPY [^(]*\(/, "", columns); sub(/\) FROM stdin;$/, "", columns)
    n = split(columns, names, ", ")
    for (i = 1; i <= n; i++) if (names[i] ~ /^(original|preview|thumbnail)_file$/) wanted[i] = 1
    copying = 1; seen = 1; next
  }
  copying && $0 == "\\." { copying = 0; next }
  copying { rows++; for (i in wanted) if ($i != "\\N") print $i }
  END { printf "%d\n", rows > "/dev/stderr"; if (!seen) exit 3 }
' 2>"$work/photo-rows" | sort -u >"$work/referenced" ||
  die "cannot read the photos table back from the dump (has the server created its tables?)"
photo_rows=$(cat "$work/photo-rows")
referenced_count=$(wc -l <"$work/referenced")

# Store files only (uploads/ab/ab<62 hex>.<ext>, as backend/src/photos/storage.rs names them);
# anything else there is no upload and is left out.
store_name='^uploads/([0-9a-f]{2})/\1[0-9a-f]{62}\.(jpg|png|gif|webp)$'
(cd "$data_dir" && find uploads -path uploads/tmp -prune -o -type f -print) |
  { grep -E "$store_name" || true; } | sort >"$work/files"
(cd "$data_dir" && find uploads -path uploads/tmp -prune -o ! -type d -print) |
  { grep -vxF -f "$work/files" || true; } >"$work/others"
if [ -s "$work/others" ]; then
  log "warning: leaving out $(wc -l <"$work/others") entries of uploads/ that are not stored files, e.g. $(head -n 1 "$work/others")"
fi
file_count=$(wc -l <"$work/files")

log "hashing $file_count upload files"
(cd "$data_dir" && xargs -r -d '\n' sha256sum --) <"$work/files" >"$partial/uploads.sha256" ||
  die "cannot read every upload file"
awk '{ name = $2; sub(/.*\//, "", name); sub(/\..*/, "", name); if (name != $1) print $2 }' \
  "$partial/uploads.sha256" >"$work/corrupt"
if [ -s "$work/corrupt" ]; then
  sed 's/^/  damaged (its SHA-256 is not its name): /' "$work/corrupt" >&2
  die "$(wc -l <"$work/corrupt") upload files are damaged"
fi

log "archiving the uploads"
# Exit status 1 means a file "changed as we read it": a repeated upload of the same bytes only
# touches the existing file's time (stored files never change and, under the lock, never go).
status=0
tar --create --file="$partial/uploads.tar" --directory="$data_dir" --warning=no-file-changed \
  --verbatim-files-from --files-from="$work/files" || status=$?
[ "$status" -le 1 ] || die "tar failed to archive the uploads"

tar --list --file="$partial/uploads.tar" | sort >"$work/archived"
cmp -s "$work/archived" "$work/files" || die "uploads.tar does not hold exactly the files hashed"
sed -E 's|^(..)|uploads/\1/\1|' "$work/referenced" | sort >"$work/referenced-paths"
comm -23 "$work/referenced-paths" "$work/archived" >"$work/missing"
if [ -s "$work/missing" ]; then
  sed 's/^/  missing: /' "$work/missing" >&2
  die "$(wc -l <"$work/missing") files that photos in the dump reference are not in the uploads"
fi

# The lock must have been held all along: the unlock answers t only in the session holding it.
kill -0 "$lock_pid" 2>/dev/null || die "the backup lock's database session ended during the backup"
printf "select pg_advisory_unlock(%s);\n" "$BACKUP_LOCK_KEY" >&"$lock_in"
reply=""
read -r -t 30 -u "$lock_out" reply || true
[ "$reply" = t ] || die "the backup lock was lost during the backup (database connection dropped?)"
exec {lock_in}>&-
wait "$lock_pid" 2>/dev/null || true
lock_pid=""

{
  echo "created: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "server: $server_version"
  echo "pg_dump: $pg_dump_version"
  echo "photo rows: $photo_rows"
  echo "upload files: $file_count"
  echo "files referenced by photos: $referenced_count"
} >"$partial/backup.info"
rm -rf "$work"
(cd "$partial" && sha256sum database.dump uploads.tar uploads.sha256 backup.info >MANIFEST.sha256)

mv -T "$partial" "$output" || die "cannot move the finished backup to $output"
partial=""

size() { numfmt --to=iec-i --suffix=B "$(stat -c %s "$1")"; }
log "backup written to $output"
printf '  database.dump  %s (%s photo rows)\n' "$(size "$output/database.dump")" "$photo_rows"
printf '  uploads.tar    %s (%s files, %s referenced by photos)\n' \
  "$(size "$output/uploads.tar")" "$file_count" "$referenced_count"
