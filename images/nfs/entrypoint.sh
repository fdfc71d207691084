#!/bin/sh
# Check that the export is a real file system, then run ganesha in the foreground.
set -e
export_dir=${NFS_EXPORT_DIR:-/export}
mkdir -p /var/run/ganesha /var/lib/nfs/ganesha "$export_dir"
if ! mountpoint -q "$export_dir"; then
    echo "labgen-nfs: $export_dir is not a mounted volume; FSAL_VFS cannot export the image's" \
         "overlay root file system. Mount a volume there: -v NAME:$export_dir" >&2
    exit 1
fi
# The export belongs to the masters' jenkins user (uid/gid 1000, as the official image's
# jenkins_home): with root squashed, Jenkins creates JENKINS_HOME in it.
chown "${NFS_EXPORT_UID:-1000}:${NFS_EXPORT_GID:-1000}" "$export_dir"
# ganesha.conf's client list may name @LAB_NETWORK@: this container's own IPv4 network (the
# lab network, whose subnet Docker chose), read from the routing table.
config=/etc/ganesha/ganesha.conf
if grep -q '@LAB_NETWORK@' "$config" 2>/dev/null; then
    network=$(python3 - <<'PY'
import ipaddress, socket, struct
for line in open("/proc/net/route").read().splitlines()[1:]:
    iface, dest, gateway, flags, _, _, _, mask = line.split()[:8]
    if dest != "00000000" and gateway == "00000000":
        pack = lambda h: socket.inet_ntoa(struct.pack("<I", int(h, 16)))
        print(ipaddress.ip_network(f"{pack(dest)}/{pack(mask)}"))
        break
PY
)
    if [ -z "$network" ]; then
        echo "labgen-nfs: cannot tell this container's network for the export's client list" >&2
        exit 1
    fi
    sed "s|@LAB_NETWORK@|$network|g" "$config" >/var/run/ganesha/ganesha.conf
    echo "labgen-nfs: the export allows clients in $network only" >&2
    shifted=0
    for arg in "$@"; do  # the same command, reading the completed config
        if [ "$shifted" = 0 ]; then set --; shifted=1; fi
        if [ "$arg" = "$config" ]; then arg=/var/run/ganesha/ganesha.conf; fi
        set -- "$@" "$arg"
    done
fi
if [ "${1#-}" != "$1" ]; then
    set -- ganesha.nfsd "$@"
fi
exec "$@"
