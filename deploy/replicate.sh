#!/usr/bin/env bash
# Copy the live build of one data directory to another node's and make it live there.
#
#   deploy/replicate.sh SOURCE_DATA_DIR DEST_DATA_DIR          # DEST on this machine
#   deploy/replicate.sh SOURCE_DATA_DIR user@node2:/srv/kg/data  # DEST on another node, over ssh
#
# A build is immutable: its generation folder (builds/<stamp>), its store (store.<stamp>) and its
# index (index-v<n>). Each is copied with rsync under a temporary name and renamed once complete,
# and --link-dest makes every file the destination's live build already has a hard link, not a
# new copy. A folder the destination already holds under the same name is that same immutable
# folder and is not copied again. Then the destination's `current` symlink is replaced in one
# rename, as `kg build` does, so `kg serve` there answers from the new build on its next request
# and a copy stopped at any point leaves the old build live. With store = "sparql" the store is
# copied too (never opened: it holds the build's record, which the health check reads).
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 SOURCE_DATA_DIR [HOST:]DEST_DATA_DIR" >&2
  exit 2
fi
src=${1%/}
dest=${2%/}
host=
path=$dest
if [[ $dest == *:* ]]; then
  host=${dest%%:*}
  path=${dest#*:}
fi
on_dest() {  # run a command where DEST is
  if [ -n "$host" ]; then ssh "$host" "$(printf '%q ' "$@")"; else "$@"; fi
}

generation=$(readlink "$src/current") || { echo "error: $src has no live build (run kg build)" >&2; exit 1; }
store=$(basename "$(readlink "$src/$generation/store")")
index=$(basename "$(readlink "$src/$generation/index")")

on_dest mkdir -p "$path/builds"
live=$(on_dest readlink "$path/current" 2>/dev/null || true)
links=()
if [ -n "$live" ]; then
  # rsync takes --link-dest relative to the folder it writes, or absolute.
  live_store=$(on_dest readlink -f "$path/$live/store" || true)
  live_index=$(on_dest readlink -f "$path/$live/index" || true)
fi

copy() {  # copy SRC_FOLDER to DEST/NAME, hard-linking files of LINK_DEST, unless DEST/NAME exists
  local from=$1 name=$2 link=${3:-}
  if on_dest test -e "$path/$name"; then
    return
  fi
  local args=(-a --delete)
  if [ -n "$link" ]; then args+=(--link-dest="$link"); fi
  rsync "${args[@]}" "$from/" "$dest/.$(basename "$name").partial/"
  on_dest mv -T "$path/.$(basename "$name").partial" "$path/$name"
}

copy "$src/$store" "$store" "${live_store:-}"
copy "$src/$index" "$index" "${live_index:-}"
copy "$src/$generation" "$generation"
on_dest ln -sfn "$generation" "$path/.current.replica"
on_dest mv -T "$path/.current.replica" "$path/current"
echo "$dest: $generation is live"
