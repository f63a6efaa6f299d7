#!/bin/bash
# Two servers, but both in the node's own namespace, so they need two ports.
mkdir -p /srv/web1 /srv/web2
echo web1 > /srv/web1/index.html
echo web2 > /srv/web2/index.html
cd /srv/web1 && nohup python3 -m http.server 80 >/dev/null 2>&1 &
cd /srv/web2 && nohup python3 -m http.server 81 >/dev/null 2>&1 &
