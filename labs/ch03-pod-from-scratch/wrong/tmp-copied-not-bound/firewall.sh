#!/bin/bash
# Drop everything that comes in from 10.1.2.3.
set -euo pipefail
iptables -A INPUT -s 10.1.2.3 -j DROP
