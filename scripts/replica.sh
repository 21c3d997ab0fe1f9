#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL cluster (127.0.0.1:5432) on 127.0.0.1:5433, for
# the read-replica test (tests/test_replica.py). Debian/Ubuntu cluster tools, run as root:
#   bash scripts/replica.sh         create it if needed (pg_createcluster + pg_basebackup), start it
#   bash scripts/replica.sh stop    stop it
set -euo pipefail
VERSION="$(ls /etc/postgresql | sort -n | tail -1)"
NAME=replica
PORT=5433
PRIMARY_CONF="/etc/postgresql/$VERSION/main"
REPLICA_CONF="/etc/postgresql/$VERSION/$NAME"
DATA="/var/lib/postgresql/$VERSION/$NAME"

if [ "${1:-start}" = stop ]; then
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" stop || true
  exit 0
fi

# The primary must accept replication connections from this machine (wal_level is replica by
# default; max_wal_senders 10).
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' \
  "$PRIMARY_CONF/pg_hba.conf"; then
  echo "host replication all 127.0.0.1/32 trust" >>"$PRIMARY_CONF/pg_hba.conf"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main reload
fi

build() {
  if [ -d "$REPLICA_CONF" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" stop 2>/dev/null || true
    pg_dropcluster "$VERSION" "$NAME"
  fi
  pg_createcluster "$VERSION" "$NAME" -p "$PORT" >/dev/null
  cp "$PRIMARY_CONF/pg_hba.conf" "$REPLICA_CONF/pg_hba.conf"
  rm -rf "$DATA"
  install -d -o postgres -g postgres -m 700 "$DATA"
  # -R writes standby.signal and primary_conninfo: the copy follows the primary's WAL.
  sudo_postgres() { runuser -u postgres -- "$@"; }
  sudo_postgres pg_basebackup -h 127.0.0.1 -p 5432 -U postgres -D "$DATA" -R -X stream -c fast
}

start() {
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start 2>/dev/null || true
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p "$PORT" -q && break
    sleep 1
  done
}

# A replica stopped for a while cannot follow again once the primary has recycled the WAL it
# needs: then it is made again from a fresh base backup.
streaming() {
  for _ in $(seq 1 20); do
    [ "$(psql -h 127.0.0.1 -p "$PORT" -U postgres -Atc \
      "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null)" = streaming ] && return 0
    sleep 1
  done
  return 1
}

[ -f "$DATA/standby.signal" ] || build
start
if ! streaming; then
  echo "the replica does not follow the primary: made again from a new base backup"
  build
  start
  streaming || { echo "the replica does not stream from the primary"; exit 1; }
fi
psql -h 127.0.0.1 -p "$PORT" -U postgres -Atc "SELECT 'replica in recovery: ' || pg_is_in_recovery()"
