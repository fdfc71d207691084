#!/bin/sh
# `docker run IMAGE` runs the default command (haproxy -W -db -f .../haproxy.cfg);
# `docker run IMAGE -c -f cfg` or `docker run IMAGE -vv` passes the options to haproxy;
# anything else (`docker run IMAGE sh`) runs as given.
#
# /run/secrets/labgen.env (a Compose secret in a lab): KEY='VALUE' lines exported first, so
# the stats login and the admin token are not in the container's configuration. Run alone
# with the built-in config and no LABGEN_STATS_PASSWORD, a password is generated and printed:
# the stats page never answers without authentication.
set -e
secrets_file="${LABGEN_SECRETS_FILE:-/run/secrets/labgen.env}"
if [ -r "$secrets_file" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        key=${line%%=*}
        value=${line#*=}
        case "$key" in "" | *[!A-Z0-9_]*) continue ;; esac
        value=${value#\'}
        value=${value%\'}
        export "$key=$value"  # taken as it is: no expansion of $, ` or \ in the value
    done <"$secrets_file"
fi
if [ "${1#-}" != "$1" ]; then
    set -- haproxy "$@"
fi
if [ -z "${LABGEN_STATS_PASSWORD:-}" ]; then
    LABGEN_STATS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
    export LABGEN_STATS_PASSWORD
    case " $* " in
    *" -db "*)  # HAProxy serving (not -v, -c): say the password it serves the stats page with
        echo "labgen-haproxy: no LABGEN_STATS_PASSWORD given; the stats page's password is $LABGEN_STATS_PASSWORD" >&2
        ;;
    esac
fi
export LABGEN_STATS_USER="${LABGEN_STATS_USER:-admin}"
exec "$@"
