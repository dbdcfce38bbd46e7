#!/bin/sh
# As the official image: a redis-server started without a config file gets
# --protected-mode no (the official image is built with it off), so clients
# on the container network are served.
if [ "${1:-}" = redis-server ] && [ "${2:-}" != "${2#--}" -o $# = 1 ]; then
  shift
  set -- redis-server "$@" --protected-mode no
fi
exec "$@"
