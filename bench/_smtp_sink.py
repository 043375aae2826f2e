"""A lean SMTP sink for the benchmarks: test equipment, not product code.

aiosmtpd (what the tests use) is a full SMTP server framework; on this 2-core machine it spends about half a
millisecond of CPU per message, as much as the worker spends building and sending it, and that time is taken
from the very cores the worker is measured on. This sink speaks just the SMTP a client needs to deliver
(EHLO/HELO, MAIL, RCPT, DATA up to the lone dot, RSET, NOOP, QUIT), accepts everything, and keeps each
message's X-RDEC-Notification value so the bench can still prove exactly-once delivery.
It runs on its own event loop in a daemon thread of the bench process.
"""

from __future__ import annotations

import asyncio
import re
import threading

HEADER = re.compile(rb"^X-RDEC-Notification:\s*(\d+)\s*$", re.MULTILINE | re.IGNORECASE)
END_OF_DATA = b"\r\n.\r\n"


class _Session(asyncio.Protocol):
    def __init__(self, ids: list[str | None]) -> None:
        self.ids = ids
        self.buffer = b""
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                # The terminating line may follow the DATA reply's CRLF directly (empty message).
                probe = b"\r\n" + self.buffer
                end = probe.find(END_OF_DATA)
                if end < 0:
                    break
                content = probe[2:end] if end >= 2 else b""
                self.buffer = probe[end + len(END_OF_DATA) :]
                match = HEADER.search(content)
                self.ids.append(match.group(1).decode() if match else None)
                self.in_data = False
                replies.append(b"250 2.0.0 accepted\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2 :]
            verb = line[:4].upper()
            if verb == b"EHLO":
                replies.append(b"250-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                replies.append(b"250 OK\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                replies.append(b"221 Bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            else:
                replies.append(b"500 Command not recognized\r\n")
        if replies:
            self.transport.write(b"".join(replies))


class LeanSink:
    """`start()` listens on 127.0.0.1:`port`; `ids` holds one entry per accepted message."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.ids: list[str | None] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-smtp-sink", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            self._loop.create_server(lambda: _Session(self.ids), "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the bench SMTP sink did not start")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
