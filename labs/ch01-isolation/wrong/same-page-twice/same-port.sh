#!/bin/bash
# Copy-paste slip: both namespaces serve the page of web1.
set -e
mkdir -p /srv/site
echo web1 > /srv/site/index.html
for name in web1 web2; do
  ip netns add "$name"
  ip -n "$name" link set lo up
  ip netns exec "$name" busybox httpd -p 80 -h /srv/site
done
