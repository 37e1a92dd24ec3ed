"""Real HTTP for tests against a served site (urllib; no test client in between)."""

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
    timeout: float = 30,
) -> Reply:
    """Send one request; a 4xx/5xx reply is returned, not raised."""
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Token {token}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, dict(error.headers.items()), error.read())


def multipart(fields: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """Encode ``{name: (filename, data)}`` as multipart/form-data; returns body, content type."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, data) in fields.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def post_file(url: str, data: bytes, *, token: str, filename: str = "p.zip") -> Reply:
    body, content_type = multipart({"file": (filename, data)})
    return request("POST", url, body=body, headers={"Content-Type": content_type}, token=token)


def post_json(url: str, payload: Any, *, token: str | None = None) -> Reply:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    return request("POST", url, body=body, headers=headers, token=token)
