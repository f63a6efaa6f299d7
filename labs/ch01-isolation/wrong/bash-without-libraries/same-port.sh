#!/bin/bash
# Two web servers on port 80, each in a network namespace of its own.
set -euo pipefail
for name in web1 web2; do
  ip netns add "$name"
  ip -n "$name" link set lo up
  mkdir -p "/srv/$name"
  echo "$name" > "/srv/$name/index.html"
  # busybox httpd goes to the background by itself
  ip netns exec "$name" busybox httpd -p 80 -h "/srv/$name"
done
