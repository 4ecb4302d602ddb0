#!/usr/bin/env bash
# Starts PostgreSQL and Redis when they are not answering, with the same
# commands this machine kind uses at boot. Idempotent; waits until both
# answer. Tests need them: the store contract suite runs on PostgreSQL and
# the broker contract suite and cluster tests on Redis.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! redis_up; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
for _ in $(seq 1 60); do
  if pg_up && redis_up; then
    echo "PostgreSQL and Redis are up"
    exit 0
  fi
  sleep 1
done
echo "PostgreSQL or Redis did not come up within 60 s" >&2
pg_up || echo "PostgreSQL: down" >&2
redis_up || echo "Redis: down" >&2
exit 1
