"""The writer's kept-alive HTTP/1.1 connection to the DynamoDB endpoint."""

from __future__ import annotations

import socket
import ssl


class Connection:
    """One kept-alive HTTP/1.1 connection (TLS for https) to the endpoint.

    A request is written with one ``sendall`` and the answer read by ``Content-Length`` (or chunked,
    or to EOF): a few dozen Python calls, where botocore's HTTP session (its headers, urllib3,
    http.client, email parsing) takes thousands (``benchmarks/bench_transport.py``). Any socket/TLS
    failure closes it; the writer retries the batch.
    """

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None, timeouts: tuple[float, float]
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.connect_timeout, self.read_timeout = timeouts
        self.sock: socket.socket | None = None
        self.reused = False

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.read_timeout)
        return sock

    def send(self, request: bytes) -> int:
        """Write one request (opening the connection if needed); the socket's file descriptor."""
        if self.sock is None:
            self.sock, self.reused = self._open(), False
        try:
            self.sock.sendall(request)
            return self.sock.fileno()
        except (OSError, ValueError):
            self.close()
            raise

    def read(self) -> tuple[int, dict[bytes, bytes], bytes]:
        """Read one answer: (status, lower-cased headers, body). ``StaleConnection`` when a kept-alive
        connection turns out to have been closed by the server while idle."""
        try:
            return self._read_response()
        except (StaleConnection, OSError, ValueError):
            self.close()
            raise

    def exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one request and read its answer. A kept-alive connection the server closed while idle
        is reopened once (a fresh connection cannot be stale)."""
        while True:
            self.send(request)
            try:
                return self.read()
            except StaleConnection:
                continue

    def _read_response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        assert self.sock is not None
        recv = self.sock.recv
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = recv(65536)
            if not data:
                if not buffer and self.reused:
                    raise StaleConnection()
                raise ConnectionResetError("the endpoint closed the connection before a full response")
            buffer += data
            if len(buffer) > 65536 and b"\r\n\r\n" not in buffer:
                raise ValueError("response headers longer than 64 KiB")
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, status = lines[0].split(b" ", 2)[:2]
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body, rest = self._read_chunked(rest)
        elif b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                data = recv(max(65536, length - len(rest)))
                if not data:
                    raise ConnectionResetError(
                        "the endpoint closed the connection in the middle of a response"
                    )
                rest += data
            body = rest[:length]
        else:  # no length: the body ends with the connection
            chunks = [rest]
            while data := recv(65536):
                chunks.append(data)
            body = b"".join(chunks)
            headers[b"connection"] = b"close"
        if headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0":
            self.close()
        else:
            self.reused = True
        return int(status), headers, body

    def _read_chunked(self, rest: bytes) -> tuple[bytes, bytes]:
        assert self.sock is not None
        parts: list[bytes] = []
        while True:
            while b"\r\n" not in rest:
                rest += self._more()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += self._more()
            if size == 0:
                # Trailers (none expected) end with an empty line.
                while not (rest.startswith(b"\r\n") or b"\r\n\r\n" in rest):
                    rest += self._more()
                return b"".join(parts), b""
            parts.append(rest[:size])
            rest = rest[size + 2 :]

    def _more(self) -> bytes:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError(
                "the endpoint closed the connection in the middle of a chunked response"
            )
        return data


class StaleConnection(Exception):
    """A kept-alive connection was closed by the server before this request was answered."""
