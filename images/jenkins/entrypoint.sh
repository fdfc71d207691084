#!/bin/sh
# labgen's Jenkins entrypoint, shared by the real and the lite flavour (run under tini).
#
# 1. NFS_URL set (nfs://SERVER/PSEUDO?version=4[&nfsport=N]): mount it at NFS_MOUNTPOINT
#    (default /var/lib/data, the article's mount point) with labgen's FUSE NFS client,
#    which goes to the background once mounted; then wait until the mount is really up.
#    Needs /dev/fuse and CAP_SYS_ADMIN (docker run --device /dev/fuse --cap-add SYS_ADMIN).
# 2. mkdir -p "$JENKINS_HOME" (default /var/lib/data/jenkins, the article's).
# 3. start labgen's home check in the background (labgen_homecheck: HAProxy's agent-check and
#    the Docker health check ask it whether JENKINS_HOME still answers).
# 4. exec the given command, or the flavour's Jenkins: lite = python3 -m labgen_lite,
#    real = python3 -m labgen_launcher: checks the war, then java -jar jenkins.war with the article's options.
#
# JENKINS_UID / JENKINS_GID (default 1000, the image's jenkins user, as the official image):
# the identity sent to the NFS server and the one Jenkins and every build run as. The FUSE
# mount is the only thing done as root (with CAP_SYS_ADMIN); Jenkins and the home check are
# started with setpriv: that uid and gid, an empty bounding and inheritable capability set
# and no_new_privs, so no build can gain a capability back (setuid binaries included).
# JENKINS_UID=0 keeps the article's root Jenkins (for comparison only).
# /run/secrets/labgen.env (a Compose secret): KEY='VALUE' lines exported before Jenkins
# starts, so the credentials are not in the container's configuration (docker inspect).
# The reader is images/common/secrets.sh, shared with HAProxy's entrypoint (in this image under
# /opt/labgen/labgen/, with what labgen shares with the image's programs).
set -eu

log() { echo "labgen-jenkins: $*" >&2; }

export JENKINS_HOME="${JENKINS_HOME:-/var/lib/data/jenkins}"
mountpoint_dir="${NFS_MOUNTPOINT:-/var/lib/data}"
run_uid="${JENKINS_UID:-1000}"
run_gid="${JENKINS_GID:-$run_uid}"
flavour="${LABGEN_JENKINS_FLAVOUR:-lite}"

. "${LABGEN_ENTRYPOINT_LIB:-/opt/labgen/labgen}/secrets.sh"
export_secrets "${LABGEN_SECRETS_FILE:-/run/secrets/labgen.env}"

# Run a command as the jenkins user, without any capability (see above).
as_jenkins() {
    if [ "$run_uid" = 0 ]; then
        "$@"
        return
    fi
    if getent passwd "$run_uid" >/dev/null 2>&1; then groups_opt=--init-groups; else groups_opt=--clear-groups; fi
    setpriv --reuid="$run_uid" --regid="$run_gid" "$groups_opt" \
        --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
}

if [ -n "${NFS_URL:-}" ]; then
    mkdir -p "$mountpoint_dir"
    if mountpoint -q "$mountpoint_dir"; then
        log "$mountpoint_dir is already a mount point; not mounting $NFS_URL"
    else
        if [ ! -c /dev/fuse ]; then
            log "/dev/fuse is missing: run the container with --device /dev/fuse --cap-add SYS_ADMIN"
            exit 1
        fi
        log "mounting $NFS_URL at $mountpoint_dir"
        # shellcheck disable=SC2086  # NFS_MOUNT_OPTS holds extra options, split on purpose
        # the kernel client's caching options (spec nfs.mount_options, e.g. noac) come in the environment
        python3 -m labgen_nfsmount "$NFS_URL" "$mountpoint_dir" \
            --wait "${NFS_WAIT:-60}" --uid "$run_uid" --gid "$run_gid" ${NFS_MOUNT_OPTS:-}
        tries=0
        until mountpoint -q "$mountpoint_dir" && grep -qs " $mountpoint_dir fuse" /proc/mounts; do
            tries=$((tries + 1))
            if [ "$tries" -gt 150 ]; then
                log "$NFS_URL did not appear at $mountpoint_dir within 30 s"
                exit 1
            fi
            sleep 0.2
        done
        log "mounted: $(grep -s " $mountpoint_dir fuse" /proc/mounts | cut -d' ' -f1-3)"
    fi
fi

# JENKINS_HOME belongs to the jenkins user: made by it where it may (an NFS export with root
# squashed), else by root and handed over (a local volume).
if ! as_jenkins mkdir -p "$JENKINS_HOME" 2>/dev/null; then
    mkdir -p "$JENKINS_HOME"
fi
if [ "$run_uid" != 0 ] && [ "$(stat -c %u "$JENKINS_HOME")" != "$run_uid" ]; then
    chown "$run_uid:$run_gid" "$JENKINS_HOME" 2>/dev/null || log "cannot give $JENKINS_HOME to uid $run_uid"
fi

if [ "$flavour" = real ]; then
    # First-start settings (admin user, API token, URL, agent port) as init scripts, like
    # the official image's /usr/share/jenkins/ref; refreshed on every start.
    as_jenkins mkdir -p "$JENKINS_HOME/init.groovy.d"
    as_jenkins cp /usr/share/jenkins/ref/init.groovy.d/*.groovy "$JENKINS_HOME/init.groovy.d/"
fi

# The home check runs as Jenkins does (its probe writes into JENKINS_HOME like Jenkins).
as_jenkins python3 -m labgen_homecheck serve &

if [ "$#" -eq 0 ]; then
    if [ "$flavour" = real ]; then
        # checks that the war is the image's Jenkins, then java -jar it (images/jenkins/real/labgen_launcher)
        set -- python3 -m labgen_launcher
    else
        set -- python3 -m labgen_lite
    fi
fi

if [ "$run_uid" != 0 ]; then
    if getent passwd "$run_uid" >/dev/null 2>&1; then groups_opt=--init-groups; else groups_opt=--clear-groups; fi
    export HOME="$JENKINS_HOME"
    exec setpriv --reuid="$run_uid" --regid="$run_gid" "$groups_opt" \
        --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
fi
exec "$@"
