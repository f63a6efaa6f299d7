#!/bin/bash
iptables -A INPUT -s 10.1.2.3 -j DROP
