"""A tiny authoritative DNS server on 127.0.0.1 (UDP, a free port) answering TXT queries from a dict.

Enough for ATProto handle resolution (``_atproto.{handle}`` TXT ``did=…``) over the real wire protocol;
every other question gets NXDOMAIN."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class TxtZone:
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []

    def set(self, name: str, *values: str) -> None:
        self.records[name.lower().rstrip(".")] = list(values)


@contextmanager
def dns_server(zone: TxtZone) -> Iterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    port = int(sock.getsockname()[1])
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().lower().rstrip(".")
            zone.queries.append(name)
            values = zone.records.get(name)
            if question.rdtype == dns.rdatatype.TXT and values:
                quoted = ['"' + v.replace('"', '\\"') + '"' for v in values]
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, dns.rdatatype.TXT, quoted)
                )
            else:
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
