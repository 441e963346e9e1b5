#!/usr/bin/env bash
# Run Virtuoso (Debian virtuoso-opensource) as a plain process with its own database folder,
# not as the system service: kg's graph server for store = "sparql", tests and benchmarks.
#
#   deploy/virtuoso.sh DIR [SQL_ADDRESS] [HTTP_ADDRESS]
#   deploy/virtuoso.sh /srv/virtuoso 127.0.0.1:1111 127.0.0.1:8890
#
# Writes DIR/virtuoso.ini (database, log and lock files in DIR; DIR/load is where `kg publish
# --load-dir` writes N-Triples for the bulk loader) and runs virtuoso-t in the foreground.
# Then:  KG_VIRTUOSO_PASSWORD=dba kg publish --server virtuoso --isql SQL_ADDRESS \
#          --load-dir DIR/load --endpoint http://HTTP_ADDRESS/sparql
# A new database's dba password is "dba": change it (isql: set password dba NEW;) on any
# server another user can reach. No query time limit is set here: Virtuoso's own returns partial
# answers ("anytime" queries); kg stops a query itself after sparql_timeout.
set -euo pipefail
if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [SQL_ADDRESS] [HTTP_ADDRESS]" >&2
  exit 2
fi
dir=$(mkdir -p "$1" && cd "$1" && pwd)
sql=${2:-127.0.0.1:1111}
http=${3:-127.0.0.1:8890}
buffers=${KG_VIRTUOSO_BUFFERS:-20000}  # 8 KiB pages: 20000 is about 170 MB of cache
mkdir -p "$dir/load"
cat > "$dir/virtuoso.ini" <<INI
[Database]
DatabaseFile = $dir/virtuoso.db
ErrorLogFile = $dir/virtuoso.log
LockFile = $dir/virtuoso.lck
TransactionFile = $dir/virtuoso.trx
xa_persistent_file = $dir/virtuoso.pxa
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = $dir/virtuoso-temp.db
TransactionFile = $dir/virtuoso-temp.trx

[Parameters]
ServerPort = $sql
DisableUnixSocket = 1
DirsAllowed = ., $dir/load
NumberOfBuffers = $buffers
MaxDirtyBuffers = $((buffers * 3 / 4))
CheckpointInterval = 60

[HTTPServer]
ServerPort = $http
ServerThreads = 20
MaxClientConnections = 20
MaxKeepAlives = 20

[SPARQL]
ResultSetMaxRows = 10000000
DefaultGraph =
INI
exec virtuoso-t -f -c "$dir/virtuoso.ini"
