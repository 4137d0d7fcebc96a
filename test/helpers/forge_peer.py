#!/usr/bin/env python3
"""Sends exact datagrams to a multicast group with a forged source address and port (a hostile
LAN host pretending to be a member), over IPv4 or IPv6. Run it only inside a lab host.

  forge_peer.py send GROUP PORT --from ADDR:PORT --dev IFACE --hex HEX [--hex HEX]...

IPv6 addresses in --from are written [addr]:port. The source is bound with IP_TRANSPARENT /
IPV6_TRANSPARENT (needs CAP_NET_ADMIN, as root in the lab). Exit codes: 0 ok, 2 usage, 3 error.
"""

import argparse
import ipaddress
import os
import socket
import sys

IP_TRANSPARENT = 19
IPV6_TRANSPARENT = 75


def die(msg, code=3):
    print(f"forge_peer: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def main():
    # The guard of test/helpers/lab-only.ts: the test runner's namespaces, a lab host's own.
    if os.environ.get("MCCHAT_TEST_NETNS") != "1":
        die("refusing to run outside the test runner", 2)
    if os.readlink("/proc/self/ns/net") == os.readlink("/proc/1/ns/net"):
        die("refusing to run outside a lab host (same network namespace as PID 1)", 2)
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["send"])
    ap.add_argument("group")
    ap.add_argument("port", type=int)
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--hex", action="append", required=True)
    args = ap.parse_args()
    addr, _, port = args.src.rpartition(":")
    addr = addr.strip("[]")
    try:
        payloads = [bytes.fromhex(h) for h in args.hex]
        v6 = ipaddress.ip_address(args.group).version == 6
    except ValueError as e:
        die(f"bad argument: {e}", 2)
    try:
        if v6:
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_TRANSPARENT, 1)
            s.bind((addr, int(port), 0, 0))
            idx = socket.if_nametoindex(args.dev)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
            for p in payloads:
                s.sendto(p, (args.group, args.port, 0, idx))
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.IPPROTO_IP, IP_TRANSPARENT, 1)
            s.bind((addr, int(port)))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.dev.encode())
            for p in payloads:
                s.sendto(p, (args.group, args.port))
        s.close()
    except OSError as e:
        die(f"send failed: {e}")
    print(f"sent {len(payloads)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
