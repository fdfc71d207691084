# labgen's images' entrypoints source this file (`labgen build` puts images/common/ into the
# HAProxy and Jenkins build contexts).
#
# export_secrets FILE: export FILE's KEY='VALUE' lines (a lab mounts each service's secrets as the
# Compose secret /run/secrets/labgen.env), so that the credentials are not in the container's
# configuration (docker inspect). A value is taken as it is: no expansion of $, ` or \ in it. A
# line whose key is not uppercase letters, digits and '_' is skipped; no readable FILE, nothing.
export_secrets() {
    [ -r "$1" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        key=${line%%=*}
        value=${line#*=}
        case "$key" in "" | *[!A-Z0-9_]*) continue ;; esac
        value=${value#\'}
        value=${value%\'}
        export "$key=$value"
    done <"$1"
}
