#!/bin/sh
# `docker run IMAGE` runs the default command (haproxy -W -db -f .../haproxy.cfg);
# `docker run IMAGE -c -f cfg` or `docker run IMAGE -vv` passes the options to haproxy;
# anything else (`docker run IMAGE sh`) runs as given.
#
# /run/secrets/labgen.env (a Compose secret in a lab): KEY='VALUE' lines exported first, so
# the stats login and the admin token are not in the container's configuration. Run alone
# with the built-in config and no LABGEN_STATS_PASSWORD, a password is generated and printed:
# the stats page never answers without authentication. The reader is images/common/secrets.sh,
# shared with the Jenkins entrypoint.
set -e
. "${LABGEN_ENTRYPOINT_LIB:-/usr/local/lib/labgen}/secrets.sh"
export_secrets "${LABGEN_SECRETS_FILE:-/run/secrets/labgen.env}"
if [ "${1#-}" != "$1" ]; then
    set -- haproxy "$@"
fi
# The stats login's variables are named by the image (LABGEN_STATS_*_VARIABLE, from labgen's model).
user_var=${LABGEN_STATS_USER_VARIABLE:?the image names the stats user variable}
password_var=${LABGEN_STATS_PASSWORD_VARIABLE:?the image names the stats password variable}
case "$user_var$password_var" in *[!A-Z0-9_]*) echo "labgen-haproxy: bad variable names" >&2; exit 1 ;; esac
eval "password=\${$password_var:-}"
if [ -z "$password" ]; then
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')
    export "$password_var=$password"
    case " $* " in
    *" -db "*)  # HAProxy serving (not -v, -c): say the password it serves the stats page with
        echo "labgen-haproxy: no $password_var given; the stats page's password is $password" >&2
        ;;
    esac
fi
eval "user=\${$user_var:-admin}"
export "$user_var=$user"
# A load balancer of a pair (haproxy.replicas 2): the lab mounts keepalived's config. keepalived
# and HAProxy both run; this shell stays PID 1 and, on SIGTERM, stops keepalived first (the VIP
# moves to the peer at once), then lets HAProxy finish its sessions (SIGUSR1). HAProxy dying
# alone leaves keepalived running: its vrrp_script fails and the peer takes the VIP.
keepalived_conf=${LABGEN_KEEPALIVED_CONF:-}  # the image names it; unset: one HAProxy alone
case " $* " in
*" -db "*) serving=1 ;;
*) serving= ;;
esac
if [ -n "$serving" ] && [ -n "$keepalived_conf" ] && [ -r "$keepalived_conf" ]; then
    state_file=${LABGEN_VRRP_STATE_FILE:?the image names the VRRP state file}
    exit_file=${LABGEN_HAPROXY_EXIT_FILE:?the image names the HAProxy exit file}
    mkdir -p "${state_file%/*}" "${exit_file%/*}"
    echo INIT >"$state_file"
    echo 0 >"$exit_file"
    # a container restarted after a kill finds keepalived's old pid files and would refuse to start
    pid_dir=${LABGEN_KEEPALIVED_PID_DIR:-/run}
    rm -f "$pid_dir/keepalived.pid" "$pid_dir/vrrp.pid" "$pid_dir/checkers.pid"
    # HAProxy, and the moment it exits a 1 in the file keepalived watches (it then gives up the VIP)
    (set +e; "$@"; echo 1 >"$exit_file") &
    haproxy_pid=$!
    keepalived --dont-fork --log-console --vrrp --use-file "$keepalived_conf" &
    keepalived_pid=$!
    trap 'kill -TERM "$keepalived_pid" 2>/dev/null' TERM INT
    # Signals go to HAProxy's master process only: the haproxy whose parent is the subshell above
    # (its workers are the master's children). Never every haproxy: where this shell runs outside a
    # container (its unit test), pidof sees every HAProxy of the machine, the labs' too.
    signal_haproxy() {
        for pid in $(pidof haproxy); do
            read -r _ _ _ parent _ <"/proc/$pid/stat" && [ "$parent" = "$haproxy_pid" ] && kill "-$1" "$pid"
        done 2>/dev/null || true
    }
    # a soft reload (`labgen chaos reload`, SIGUSR2 to PID 1)
    trap 'signal_haproxy USR2' USR2
    status=0
    while kill -0 "$keepalived_pid" 2>/dev/null; do
        wait "$keepalived_pid" && status=0 || status=$?
    done
    echo STOPPED >"$state_file"
    signal_haproxy USR1
    wait "$haproxy_pid" 2>/dev/null || true
    exit "$status"
fi
exec "$@"

