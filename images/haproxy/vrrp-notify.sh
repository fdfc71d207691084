#!/bin/sh
# keepalived's notify script: `notify "labgen-vrrp-notify STATE_FILE"`, which keepalived runs as
# `labgen-vrrp-notify STATE_FILE TYPE NAME STATE PRIORITY`. Writes the VRRP state (MASTER, BACKUP,
# FAULT, STOP) where `labgen status` reads it, and says so on keepalived's console.
state_file=${1:?usage: labgen-vrrp-notify STATE_FILE TYPE NAME STATE PRIORITY}
echo "$4" >"$state_file.tmp" && mv "$state_file.tmp" "$state_file"
echo "labgen-vrrp: $3 is $4" >&2
