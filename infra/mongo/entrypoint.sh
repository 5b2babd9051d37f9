#!/bin/sh
# MongoDB as a single-node replica set: the ratings service records ratings in transactions, which
# need one. With authentication on, replica-set members authenticate to each other with a key file;
# it is written here from the environment so that the repository never holds it.
set -eu
: "${MONGO_REPLICA_KEY:?set MONGO_REPLICA_KEY}"
keyfile=/data/configdb/replica.key
printf '%s' "$MONGO_REPLICA_KEY" > "$keyfile"
chmod 400 "$keyfile"
chown mongodb:mongodb "$keyfile" 2>/dev/null || true
exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile "$keyfile"
