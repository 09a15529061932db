#!/usr/bin/env python3
"""A third-party NI client for Portcullis's interoperability tests, built on pysap.

Every command prints one JSON object on stdout; the Rust tests parse it. Exit status 0 when
the command ran (even if the router refused), 2 on a usage error.

  route --hop HOST:PORT[:PASSWORD] ... --mode msg|raw --payload TEXT
      Routes through the hops (first hop = first router, last hop = target) with pysap's
      SAPRoutedStreamSocket, sends TEXT and reads the echo.
      {"ok": true, "echo": TEXT}  or  {"ok": false, "error": CLASS, "return_code": N, ...}
  info --router HOST:PORT [--password PW]
      Sends pysap's information request and decodes the client list and server record.
"""

import argparse
import json
import socket
import sys

from scapy.packet import Raw, raw

from pysap.SAPNI import SAPNIStreamSocket
from pysap.SAPRouter import (
    ROUTER_TALK_MODE_NI_MSG_IO,
    ROUTER_TALK_MODE_NI_RAW_IO,
    SAPRouteException,
    SAPRoutedStreamSocket,
    SAPRouter,
    SAPRouterInfoClients,
    SAPRouterInfoServer,
    SAPRouterResponseError,
    SAPRouterRouteHop,
    get_router_version,
)

TIMEOUT = 10


def text(value):
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value.rstrip("\0") if isinstance(value, str) else value


def hops_from(args):
    hops = []
    for spec in args.hop:
        parts = spec.split(":", 2)
        host, port = parts[0], parts[1]
        password = parts[2] if len(parts) > 2 else None
        # Built directly: pysap's route-string parser allows only [\w.] in passwords.
        hops.append(SAPRouterRouteHop(hostname=host, port=port, password=password))
    return hops


def route(args):
    mode = ROUTER_TALK_MODE_NI_RAW_IO if args.mode == "raw" else ROUTER_TALK_MODE_NI_MSG_IO
    try:
        conn = SAPRoutedStreamSocket.get_nisocket(
            route=hops_from(args), talk_mode=mode, connect_timeout=TIMEOUT, timeout=TIMEOUT)
    except SAPRouteException as e:
        return {"ok": False, "error": "SAPRouteException", "return_code": -94,
                "message": str(e)}
    except SAPRouterResponseError as e:
        return {"ok": False, "error": "SAPRouterResponseError",
                "return_code": e.return_code, "message": e.error}
    payload = args.payload.encode()
    if args.mode == "raw":
        conn.send(Raw(payload))
        got = b""
        while len(got) < len(payload):
            chunk = conn.ins.recv(len(payload) - len(got))
            if not chunk:
                break
            got += chunk
    else:
        conn.send(Raw(payload))
        got = raw(conn.recv().payload)
    conn.close()
    return {"ok": True, "echo": text(got), "router_version": conn.router_version}


def info(args):
    host, port = args.router.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), TIMEOUT)
    sock.settimeout(TIMEOUT)
    conn = SAPNIStreamSocket(sock, base_cls=SAPRouter, keep_alive=False)
    version = get_router_version(conn)
    conn.send(SAPRouter(type=SAPRouter.SAPROUTER_ADMIN, version=version, adm_command=2,
                        adm_password=args.password or ""))
    first = conn.recv()
    body = raw(first.payload)
    if body.startswith(b"NI_RTERR"):
        err = SAPRouter(body)
        return {"ok": False, "error": "SAPRouterError", "return_code": err.return_code}
    clients = SAPRouterInfoClients(body)
    server = SAPRouterInfoServer(raw(conn.recv().payload))
    lines = []
    while True:
        try:
            lines.append(text(raw(conn.recv().payload)).rstrip("\0"))
        except Exception:  # the router closes after the last line
            break
    return {
        "ok": True,
        "clients": [
            {"id": c.id, "address": text(c.address), "partner": text(c.partner),
             "service": text(c.service), "routed": c.flag_routed,
             "connected": c.flag_connected, "traced": c.flag_traced,
             "connected_on": c.connected_on}
            for c in clients.clients
        ],
        "server": {"pid": server.pid, "port": server.port},
        "lines": lines,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("route")
    r.add_argument("--hop", action="append", required=True)
    r.add_argument("--mode", choices=["msg", "raw"], default="msg")
    r.add_argument("--payload", default="EYECATCHER from pysap")
    i = sub.add_parser("info")
    i.add_argument("--router", required=True)
    i.add_argument("--password")
    args = parser.parse_args()
    result = route(args) if args.command == "route" else info(args)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
