#!/bin/bash
# bigimages.sh - benchmark images (not for tests), pushed like mkimages.sh.
#
#   bigimages.sh [--cache DIR] [--creds USER:PASSWORD] REGISTRY
#
#   box-test/big:latest          busybox layer + one layer holding
#                                /big/random.bin, 100 MiB of pseudo-random
#                                (incompressible, same every run) bytes; the
#                                gzip blob is ~100 MiB.
#   box-test/many-layers:latest  busybox layer + 40 small layers, each adding
#                                /layers/NN (8 KiB).
#
# Built once into DIR/big (DIR as for mkimages.sh); later runs only push.
# Prints REGISTRY/REPOSITORY:TAG DIGEST MEDIATYPE per image.
set -eu
exec "$(dirname "$0")/mkimages.sh" --set big "$@"
