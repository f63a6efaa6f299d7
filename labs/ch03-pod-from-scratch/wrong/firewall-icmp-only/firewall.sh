#!/bin/bash
# Drops ping from 10.1.2.3, but TCP and UDP from it still come in.
iptables -A INPUT -s 10.1.2.3 -p icmp -j DROP
