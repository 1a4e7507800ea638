#!/bin/sh
# What the official redis image's entrypoint does that stacks rely on.
set -eu
case "$1" in -* | *.conf) set -- redis-server "$@" ;; esac
if [ "$1" != redis-server ]; then exec "$@"; fi
shift
# The image's defaults first: the arguments given come later, and win.
exec redis-server --bind '* -::*' --protected-mode no --dir /data "$@"
