"""A client of text/event-stream for the tests."""

import http.client
import json


class Stream:
    """A client of text/event-stream: each ``next()`` is one block (event, or comment) as a dict."""

    def __init__(self, port: int, query: str = "", headers: dict | None = None, timeout: float = 10) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", f"/api/v1/stream{query}", headers=headers or {})
        self.response = self.connection.getresponse()
        self.status = self.response.status

    def json(self) -> dict:
        return json.loads(self.response.read())

    def next(self) -> dict:
        block: dict = {}
        while True:
            line = self.response.readline().decode()
            if line == "":
                raise EOFError("the stream ended")
            line = line.rstrip("\n")
            if not line:
                if block:
                    return block
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                block.setdefault("comment", []).append(value)
            elif name == "data":
                block["data"] = json.loads(value)
            else:
                block[name] = value

    def event(self, kind: str, *, skip: tuple[str, ...] = ("notification",)) -> dict:
        """The next event of ``kind``; fails on any other event but those of ``skip`` (comments pass)."""
        while True:
            block = self.next()
            if block.get("event") == kind:
                return block
            assert "event" not in block or block["event"] in skip, block

    def close(self) -> None:
        self.connection.close()
