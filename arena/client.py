"""A client of the platform's REST API for participants: stdlib HTTP only, no Django.

>>> client = Client("http://127.0.0.1:8000", token="...")  # doctest: +SKIP
>>> [track["slug"] for track in client.tracks()]  # doctest: +SKIP
['demo-purchase', 'demo-digits']
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

#: What the API answers while a submission waits or is scored.
PENDING = ("queued", "scoring")


class ApiError(Exception):
    """The API refused a request: its status and ``{"message", "extra"}`` body."""

    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.extra = extra or {}


class Client:
    """The platform at ``url``, as the account whose API ``token`` it holds (if any)."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # --- plumbing ---------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, *, body: bytes | None = None, content_type: str = ""
    ) -> urllib.request.Request:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        url = f"{self.url}{path}"
        return urllib.request.Request(url, data=body, method=method, headers=headers)

    def _open(self, request: urllib.request.Request) -> Any:
        try:
            return _OPENER.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"message": raw[:200].decode("utf-8", "replace") or error.reason}
            raise ApiError(error.code, payload.get("message", ""), payload.get("extra")) from None
        except urllib.error.URLError as error:
            raise ApiError(0, f"cannot reach {self.url}: {error.reason}") from None

    def _json(self, method: str, path: str, payload: Any = None) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        request = self._request(method, path, body=body, content_type="application/json")
        with self._open(request) as response:
            return json.loads(response.read())

    # --- the API ----------------------------------------------------------------------------
    def login(self, username: str, password: str) -> str:
        """Exchange a username and password for the account's token (kept on the client)."""
        self.token = None
        credentials = {"username": username, "password": password}
        self.token = str(self._json("POST", "/api/v1/auth/token/", credentials)["token"])
        return self.token

    def tracks(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/api/v1/tracks/"))

    def track(self, slug: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/tracks/{slug}/"))

    def leaderboard(self, slug: str, phase: str = "dev") -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/tracks/{slug}/leaderboard/?phase={phase}"))

    def query(self, slug: str, model: str, inputs: list[Any]) -> tuple[list[Any], int]:
        """Released outputs of one black-box model for ``inputs`` (a list of points), sent in
        requests of the track's ``query_batch``; returns them and the rows left today."""
        batch = int(self.track(slug).get("limits", {}).get("query_batch") or 1000)
        outputs: list[Any] = []
        remaining = -1
        for start in range(0, len(inputs), batch):
            body = json.dumps({"model": model, "inputs": inputs[start : start + batch]})
            request = self._request(
                "POST", f"/api/v1/tracks/{slug}/query/", body=body.encode(),
                content_type="application/json",
            )  # fmt: skip
            with self._open(request) as response:
                outputs += json.loads(response.read())["outputs"]
                remaining = int(response.headers.get("X-Query-Budget-Remaining", -1))
        return outputs, remaining

    def register(self, slug: str, *, accept_terms: bool) -> dict[str, Any]:
        """Register for a track (accepting its terms); returns the registration's status."""
        return dict(
            self._json(
                "POST", f"/api/v1/tracks/{slug}/registration/", {"accept_terms": accept_terms}
            )
        )

    def registration(self, slug: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/tracks/{slug}/registration/"))

    def team(self, slug: str) -> dict[str, Any] | None:
        return self._json("GET", f"/api/v1/tracks/{slug}/team/")["team"]

    def team_create(self, slug: str, name: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/api/v1/tracks/{slug}/team/", {"name": name})["team"])

    def team_join(self, slug: str, invite_code: str) -> dict[str, Any]:
        payload = {"invite_code": invite_code}
        return dict(self._json("POST", f"/api/v1/tracks/{slug}/team/join/", payload)["team"])

    def team_leave(self, slug: str) -> None:
        with self._open(self._request("POST", f"/api/v1/tracks/{slug}/team/leave/")):
            pass

    def select(self, submission_id: int, *, selected: bool) -> dict[str, Any]:
        """Mark (or unmark) a submission to count for final."""
        payload = {"selected": selected}
        return dict(self._json("POST", f"/api/v1/submissions/{submission_id}/select/", payload))

    def submission(self, submission_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/api/v1/submissions/{submission_id}/"))

    def download(
        self,
        slug: str,
        destination: str | Path,
        *,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> dict[str, Any]:
        """Stream the track's bundle to ``destination`` and check its SHA-256 against the one
        the track announces; returns ``{"path", "bytes", "sha256"}``.

        Raises
        ------
        ApiError
            When the bundle is not ready, or arrived other than announced (the partial file is
            removed).
        """
        expected = self.track(slug).get("bundle_sha256")
        destination = Path(destination)
        partial = destination.with_name(f".{destination.name}.part")
        digest = hashlib.sha256()
        done = 0
        with self._open(self._request("GET", f"/api/v1/tracks/{slug}/bundle/")) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(partial, "wb") as file:
                for block in iter(lambda: response.read(1 << 20), b""):
                    file.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
        sha256 = digest.hexdigest()
        if expected and sha256 != expected:
            partial.unlink()
            raise ApiError(0, f"the bundle's SHA-256 is {sha256}, the track announces {expected}")
        partial.replace(destination)
        return {"path": str(destination), "bytes": done, "sha256": sha256}

    def submit(self, slug: str, zip_path: str | Path, **metadata: str) -> dict[str, Any]:
        """Upload a submission zip (multipart ``file``, plus metadata fields such as
        ``method``); returns the submission's summary (202)."""
        path = Path(zip_path)
        boundary = uuid.uuid4().hex
        parts = [
            _field(boundary, name, value) for name, value in metadata.items() if value is not None
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/zip\r\n\r\n'.encode()
            + path.read_bytes()
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        request = self._request(
            "POST", f"/api/v1/tracks/{slug}/submissions/", body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )  # fmt: skip
        with self._open(request) as response:
            return dict(json.loads(response.read()))

    def follow(
        self, submission_id: int, *, every: float = 0.5, timeout: float = 600
    ) -> Iterator[dict[str, Any]]:
        """The submission's detail each time its status changes, until scored or failed."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            detail = self.submission(submission_id)
            if detail["status"] != last:
                last = detail["status"]
                yield detail
            if detail["status"] not in PENDING:
                return
            if time.monotonic() > deadline:
                raise ApiError(0, f"submission {submission_id} still {last} after {timeout:.0f} s")
            time.sleep(every)


class _RedirectWithoutToken(urllib.request.HTTPRedirectHandler):
    """Follow a redirect to another host (a bundle's pre-signed URL in a bucket) without the
    API token: it is the platform's secret, and a bucket refuses a second authorization."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if (
            new is not None
            and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc
        ):
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_RedirectWithoutToken)


def _field(boundary: str, name: str, value: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()
