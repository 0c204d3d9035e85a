#!/bin/bash

# 5001 is the default port for iperf server
tcpdump -i lo port 5001