#!/bin/bash
# Copies bash, but not the libraries it is linked against.
set -e
mkdir -p "$1/bin"
cp /bin/bash "$1/bin/"
