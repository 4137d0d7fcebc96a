#!/usr/bin/env python3
"""A stand-in for the legacy classroom program (/work/shared/seed): plain sockets used
exactly the way its C code uses WinSock.

Receiver: SO_REUSEADDR, bind(("", port)), IP_ADD_MEMBERSHIP with
struct ip_mreq{inet_aton(group), INADDR_ANY}, recvfrom into a 1,024-byte buffer.
Sender: a separate, unbound socket; one sendto() per message, raw bytes, no framing.

  legacy_peer.py send GROUP PORT [--encoding gbk] TEXT...   each TEXT one datagram
  legacy_peer.py send GROUP PORT --hex HEX [--hex HEX]...   exact bytes
  legacy_peer.py recv GROUP PORT [--count N] [--timeout S] [--idle S] [--encoding gbk]

recv prints READY on stderr once joined, then one JSON line per datagram on stdout:
  {"from": "addr:port", "hex": "...", "len": N, "truncated": bool, "text": "..."}
("text" is decoded with --encoding, errors=replace, cut at the first NUL like the C
code's C string). It stops after --count datagrams (exit 0), or when --idle seconds
pass without a datagram after the first one (exit 0), or at --timeout (exit 1 if
fewer than --count arrived; 0 with --idle and at least one datagram).

Exit codes: 0 ok, 1 timeout before --count, 2 usage, 3 socket error.
"""

import argparse
import json
import socket
import struct
import sys
import time

BUF_LEN = 1024  # the seed's RecvBuf


def die(msg, code=3):
    print(f"legacy_peer: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def cmd_send(args):
    if args.hex:
        if args.text:
            die("give TEXT or --hex, not both", 2)
        try:
            payloads = [bytes.fromhex(h) for h in args.hex]
        except ValueError as e:
            die(f"bad --hex: {e}", 2)
    else:
        if not args.text:
            die("nothing to send", 2)
        try:
            payloads = [t.encode(args.encoding) for t in args.text]
        except (LookupError, UnicodeEncodeError) as e:
            die(f"cannot encode with {args.encoding}: {e}", 2)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # unbound, like socketClient
        for p in payloads:
            s.sendto(p, (args.group, args.port))
        s.close()
    except OSError as e:
        die(f"send failed: {e}")
    return 0


def cmd_recv(args):
    try:
        "".encode(args.encoding)
    except LookupError as e:
        die(str(e), 2)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("", args.port))
        mreq = struct.pack("4s4s", socket.inet_aton(args.group), socket.inet_aton("0.0.0.0"))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError as e:
        die(f"join failed: {e}")
    print("READY", file=sys.stderr, flush=True)

    got = 0
    deadline = time.monotonic() + args.timeout
    last = None
    while args.count <= 0 or got < args.count:
        now = time.monotonic()
        wait = deadline - now
        if args.idle is not None and last is not None:
            wait = min(wait, last + args.idle - now)
        if wait <= 0:
            break
        s.settimeout(wait)
        try:
            data, _anc, flags, addr = s.recvmsg(BUF_LEN)
        except socket.timeout:
            continue
        except OSError as e:
            die(f"recv failed: {e}")
        got += 1
        last = time.monotonic()
        text = data.split(b"\0", 1)[0].decode(args.encoding, errors="replace")
        line = {
            "from": f"{addr[0]}:{addr[1]}",
            "hex": data.hex(),
            "len": len(data),
            "truncated": bool(flags & socket.MSG_TRUNC),
            "text": text,
        }
        print(json.dumps(line, ensure_ascii=False), flush=True)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
    s.close()
    if args.count > 0 and got >= args.count:
        return 0
    if args.idle is not None and got > 0:
        return 0
    print(f"legacy_peer: timeout after {got} datagram(s)", file=sys.stderr, flush=True)
    return 1


def main():
    modes = {}
    for name in ("send", "recv"):
        p = argparse.ArgumentParser(prog=f"legacy_peer.py {name}")
        p.add_argument("group")
        p.add_argument("port", type=int)
        p.add_argument("--encoding", default="gbk")
        modes[name] = p
    ps = modes["send"]
    ps.add_argument("--hex", action="append", default=[], help="exact bytes of one datagram")
    ps.add_argument("text", nargs="*", help="one datagram each")
    pr = modes["recv"]
    pr.add_argument("--count", type=int, default=1, help="stop after N datagrams (0: no limit)")
    pr.add_argument("--timeout", type=float, default=10.0)
    pr.add_argument("--idle", type=float, default=None)
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        return 2
    mode = sys.argv[1]
    # intermixed: options may come before or after the TEXT arguments
    args = modes[mode].parse_intermixed_args(sys.argv[2:])
    try:
        socket.inet_aton(args.group)
    except OSError:
        die(f"bad group {args.group}", 2)
    if not 0 < args.port < 65536:
        die(f"bad port {args.port}", 2)
    return cmd_send(args) if mode == "send" else cmd_recv(args)


if __name__ == "__main__":
    sys.exit(main())
