#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into an empty database and an empty data
# directory. Installs nothing and starts nothing: it works on the database DATABASE_URL names
# and the data directory GALLERY_DATA_DIR names (or the options). Stop the server first.
#
#   scripts/restore.sh [--database-url URL] [--data-dir DIR] BACKUP_DIR
#
# Before changing anything it checks the whole backup (MANIFEST.sha256: one flipped byte, a
# missing or truncated file and it refuses), that this pg_restore can read the dump, and that
# the targets are empty: no tables or functions in the database's schema public, no files in
# <data dir>/uploads (absent, or only empty directories). Then it extracts the uploads beside
# them and checks every file's SHA-256 against its name and uploads.sha256, restores the
# database in one transaction (pg_restore --single-transaction --no-owner --no-privileges),
# and only then moves the files into <data dir>/uploads. On any failure it exits non-zero.
#
# Restore as the role the server connects as (objects belong to whoever restores them; the
# database's owner may create the pg_trgm extension). Run it as the user the server runs as;
# as root, the files are given to the owner of the data directory. The URL's password reaches
# PostgreSQL's programs in PGPASSWORD, not on their command lines: prefer DATABASE_URL to
# --database-url when it has one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
export LC_ALL=C

usage() { sed -n '2,/^set -euo pipefail/{/^#/s/^# \{0,1\}//p}' "$0"; }

database_url=${DATABASE_URL:-}
data_dir=${GALLERY_DATA_DIR:-}
backup=""
while [ $# -gt 0 ]; do
  case $1 in
    --database-url) [ $# -ge 2 ] || die "--database-url needs a value"; database_url=$2; shift 2 ;;
    --database-url=*) database_url=${1#*=}; shift ;;
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a value"; data_dir=$2; shift 2 ;;
    --data-dir=*) data_dir=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; [ $# -eq 1 ] && [ -z "$backup" ] || die "one BACKUP_DIR only (see --help)"; backup=$1; shift ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$backup" ] || die "one BACKUP_DIR only (see --help)"; backup=$1; shift ;;
  esac
done
[ -n "$backup" ] || die "usage: scripts/restore.sh [--database-url URL] [--data-dir DIR] BACKUP_DIR"
[ -n "$database_url" ] || die "no database: set DATABASE_URL or pass --database-url"
[ -n "$data_dir" ] || die "no data directory: set GALLERY_DATA_DIR or pass --data-dir"
[ -d "$backup" ] || die "$backup is not a directory"
backup=$(cd "$backup" && pwd)

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
PG_RESTORE=$(pg_tool pg_restore)
PSQL=$(pg_tool psql)
psql_query() { "$PSQL" -X -q -A -t -w -v ON_ERROR_STOP=1 -d "$database_url" -c "$1"; }

work=$(mktemp -d -t gallery-restore.XXXXXX)
staging=""
created_data_dir=""
database_restored=false
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  rm -rf "$work"
  if [ -n "$staging" ]; then
    if $database_restored && [ -d "$staging/uploads" ]; then
      printf 'error: the database was restored, but the files were not put in place: they are in %s\n' \
        "$staging/uploads" >&2
    else
      rm -rf "$staging"
    fi
  fi
  if [ "$status" -ne 0 ] && [ -n "$created_data_dir" ] && ! $database_restored; then
    rmdir "$created_data_dir" 2>/dev/null || true
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. The backup, whole and unchanged.
log "checking the backup in $backup"
manifest="$backup/MANIFEST.sha256"
[ -f "$manifest" ] || die "$backup has no MANIFEST.sha256: not a backup made by scripts/backup.sh; nothing was changed"
for name in database.dump uploads.tar uploads.sha256; do
  grep -qE "^[0-9a-f]{64}  $name\$" "$manifest" ||
    die "MANIFEST.sha256 does not cover $name: the backup is incomplete or damaged; nothing was changed"
done
(cd "$backup" && sha256sum --check --strict --quiet MANIFEST.sha256) ||
  die "the backup is damaged or incomplete (see above): nothing was changed"
for entry in "$backup"/*; do
  grep -qF "  ${entry##*/}" "$manifest" || [ "${entry##*/}" = MANIFEST.sha256 ] ||
    log "warning: ignoring ${entry##*/}, which MANIFEST.sha256 does not cover"
done
# Its table of contents, without comments on extensions: only an extension's owner may set
# one, and a pg_trgm created beforehand by a superuser would make the whole restore fail.
"$PG_RESTORE" --list "$backup/database.dump" >"$work/toc" ||
  die "$("$PG_RESTORE" --version) cannot read database.dump (made by a newer pg_dump?): nothing was changed"

# Its uploads: only store files (no links, no paths outside uploads/), each named by its hash,
# and exactly those uploads.sha256 lists.
store_name='^uploads/([0-9a-f]{2})/\1[0-9a-f]{62}\.(jpg|png|gif|webp)$'
tar --list --verbose --file="$backup/uploads.tar" | awk '$1 !~ /^-/' >"$work/not-files"
[ ! -s "$work/not-files" ] || die "uploads.tar holds entries that are not plain files: nothing was changed"
tar --list --file="$backup/uploads.tar" | sort >"$work/archived"
if grep -vE "$store_name" "$work/archived" >"$work/strangers"; then
  die "uploads.tar holds names that are not store files, e.g. $(head -n 1 "$work/strangers"): nothing was changed"
fi
awk '{ print $2 }' "$backup/uploads.sha256" | sort >"$work/listed"
cmp -s "$work/archived" "$work/listed" ||
  die "uploads.tar and uploads.sha256 do not list the same files: nothing was changed"
awk '{ name = $2; sub(/.*\//, "", name); sub(/\..*/, "", name); if (name != $1) print $2 }' \
  "$backup/uploads.sha256" >"$work/misnamed"
[ ! -s "$work/misnamed" ] || die "uploads.sha256 gives $(head -n 1 "$work/misnamed") a hash other than its name: nothing was changed"
file_count=$(wc -l <"$work/archived")
grep -vE '^[0-9]+; [0-9]+ [0-9]+ COMMENT - EXTENSION ' "$work/toc" >"$work/toc-restored"

# 2. The targets, empty.
objects=$(psql_query "
  select (select count(*) from pg_class where relnamespace = 'public'::regnamespace)
       + (select count(*) from pg_proc p where pronamespace = 'public'::regnamespace
          and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass
                          and d.objid = p.oid and d.deptype = 'e'))") ||
  die "cannot reach the database: nothing was changed"
[ "$objects" -eq 0 ] ||
  die "the database is not empty ($objects tables, sequences, indexes or functions in schema public): restore into a new, empty database; nothing was changed"
uploads="$data_dir/uploads"
if [ -e "$uploads" ] || [ -L "$uploads" ]; then
  [ -d "$uploads" ] && [ ! -L "$uploads" ] || die "$uploads is not a directory: nothing was changed"
  [ -z "$(find "$uploads" -mindepth 1 ! -type d -print -quit)" ] ||
    die "$uploads is not empty: restore into an empty data directory; nothing was changed"
fi

# 3. The files, beside their place (same file system: they move in with one rename).
[ -d "$data_dir" ] || { mkdir -p "$data_dir"; created_data_dir=$data_dir; }
staging=$(mktemp -d "$data_dir/.restore.XXXXXX")
mkdir "$staging/uploads"
log "extracting $file_count upload files"
tar --extract --file="$backup/uploads.tar" --directory="$staging" --no-same-owner ||
  die "cannot extract uploads.tar: nothing was changed"
(cd "$staging" && find uploads -type f) | sort >"$work/extracted"
cmp -s "$work/extracted" "$work/archived" || die "the extracted files are not those in uploads.tar: nothing was changed"
log "checking their SHA-256"
[ "$file_count" -eq 0 ] || (cd "$staging" && sha256sum --check --strict --quiet "$backup/uploads.sha256") ||
  die "extracted files do not match their SHA-256 (above): nothing was changed"
if [ "$(id -u)" -eq 0 ]; then
  chown -R --reference="$data_dir" "$staging/uploads"
fi

# 4. The database, in one transaction: on an error it stays as it was.
log "restoring the database"
"$PG_RESTORE" --exit-on-error --single-transaction --no-owner --no-privileges --no-password \
  --use-list="$work/toc-restored" --dbname="$database_url" "$backup/database.dump" ||
  die "pg_restore failed (above): the database was left empty; nothing was changed"
database_restored=true

# 5. The files, in place.
if [ -d "$uploads" ]; then
  find "$uploads" -depth -type d -empty -delete # only empty directories are there (checked)
fi
mv -T "$staging/uploads" "$uploads" || die "cannot move the files to $uploads"
rm -rf "$staging"
staging=""

# Every file a photo references is there (backup.sh checked it; this checks the restore).
psql_query "select f from photos, unnest(array[original_file, preview_file, thumbnail_file]) f
            where f is not null" | sort -u >"$work/referenced" ||
  die "restored, but cannot read the photos table back"
photo_rows=$(psql_query "select count(*) from photos") || die "restored, but cannot count the photos"
missing=0
while read -r name; do
  [ -f "$uploads/${name:0:2}/$name" ] || { echo "  missing: $name" >&2; missing=$((missing + 1)); }
done <"$work/referenced"
[ "$missing" -eq 0 ] || die "restored, but $missing files that photos reference are missing"

log "restored $backup"
printf '  database  %s photo rows (backup of %s)\n' \
  "$photo_rows" "$(sed -n 's/^created: //p' "$backup/backup.info" 2>/dev/null || echo '?')"
printf '  uploads   %s files in %s, %s referenced by photos, each matching its SHA-256\n' \
  "$file_count" "$uploads" "$(wc -l <"$work/referenced")"
