#!/bin/bash
# Drops the whole 10.1.2.0/24, so 10.1.2.4 is cut off too.
iptables -A INPUT -s 10.1.2.0/24 -j DROP
