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
if [ "${1#-}" != "$1" ]; then
    set -- ganesha.nfsd "$@"
fi
exec "$@"
