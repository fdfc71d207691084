#!/bin/sh
# `docker run IMAGE` runs the default command (haproxy -W -db -f .../haproxy.cfg);
# `docker run IMAGE -c -f cfg` or `docker run IMAGE -vv` passes the options to haproxy;
# anything else (`docker run IMAGE sh`) runs as given.
set -e
if [ "${1#-}" != "$1" ]; then
    set -- haproxy "$@"
fi
exec "$@"
