#!/bin/sh
# Compile HAProxy from /build/src/haproxy.tar.gz (+ /build/src/patches/series) and install
# it under /staging/usr/local (binary: /usr/local/sbin/haproxy).
set -eu

cd /build
mkdir -p haproxy
tar -xf src/haproxy.tar.gz -C haproxy --strip-components=1
cd haproxy

if [ -s ../src/patches/series ]; then
    # quilt series: one patch per line, optional "-pN", comments after '#'
    sed -e 's/#.*//' ../src/patches/series | while read -r patch level; do
        [ -n "$patch" ] || continue
        echo "applying patch $patch"
        patch --batch --forward --no-backup-if-mismatch "${level:--p1}" < "../src/patches/$patch"
    done
fi

version=$(cat VERSION)
major=$(echo "$version" | cut -d. -f1)
minor=$(echo "$version" | cut -d. -f2)
series=$((major * 100 + minor))
echo "building HAProxy $version${HAPROXY_SUBVERS:-}"

set -- TARGET=linux-glibc USE_OPENSSL=1 USE_PCRE2=1 USE_PCRE2_JIT=1 USE_ZLIB=1 USE_GETADDRINFO=1
# Lua 5.3 (Debian's liblua5.3-dev) for the `ha` profile's promoter; same flags on 2.0 and 2.6.
set -- "$@" USE_LUA=1 LUA_INC=/usr/include/lua5.3 LUA_LIB_NAME=lua5.3
if [ "$series" -ge 204 ]; then
    set -- "$@" USE_PROMEX=1
elif [ -f contrib/prometheus-exporter/service-prometheus.c ]; then
    set -- "$@" EXTRA_OBJS=contrib/prometheus-exporter/service-prometheus.o
fi
if [ "$series" -lt 204 ]; then
    # Releases older than 2.4 predate OpenSSL 3 (Debian 12 ships 3.0): `#if SSL_OP_NO_TLSv1_3`
    # no longer preprocesses (the macro became an expression); upstream later made it #ifdef.
    sed -i 's/^#if SSL_OP_NO_TLSv1_3$/#ifdef SSL_OP_NO_TLSv1_3/' src/ssl_sock.c
    # GCC >= 10 defaults to -fno-common; old trees may still have tentative definitions.
    set -- "$@" SILENT_DEFINE="-fcommon -Wno-deprecated-declarations"
fi
if [ -n "${HAPROXY_SUBVERS:-}" ]; then
    set -- "$@" SUBVERS="$HAPROXY_SUBVERS"
fi

make -j"${MAKE_JOBS:-2}" "$@"
make install-bin install-man PREFIX=/usr/local DESTDIR=/staging
strip /staging/usr/local/sbin/haproxy
rm -rf /staging/usr/local/doc
echo "runtime libraries:"
ldd /staging/usr/local/sbin/haproxy
/staging/usr/local/sbin/haproxy -vv
