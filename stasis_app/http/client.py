"""A small typed client of the REST API, used by the ``cti`` commands (synchronous, urllib).

Answers are parsed into the API's own pydantic models, so the CLI and the server cannot drift
apart silently. Failures are :class:`ApiClientError`: :class:`ApiUnreachable` when nothing listens
(the worker is not running), :class:`ApiRejected` for an error envelope (401 included).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from stasis_app.errors import ConfigError, CtiError
from stasis_app.http.models import (
    AgentList,
    AgentOut,
    BridgeList,
    BridgeOut,
    CallCreated,
    CallDetailOut,
    CallList,
    ChannelList,
    ChannelOut,
    EndpointList,
    EndpointOut,
    HealthOut,
    LiveCallList,
    LiveCallOut,
    QueueList,
    QueueOut,
    TransferMode,
    TransferOut,
)
from stasis_app.settings import ClientSettings

M = TypeVar("M", bound=BaseModel)


class ApiClientError(CtiError):
    """The REST API could not be used from the command line."""


class ApiUnreachable(ApiClientError):
    """Nothing answered at ``url``."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the cti API at {url} ({reason}): is `cti run` running?")
        self.url = url
        self.reason = reason


class ApiRejected(ApiClientError):
    """The API answered with an error envelope; ``code`` is its stable error code."""

    def __init__(self, status: int, code: str, message: str, body: bytes = b"") -> None:
        hint = " (check CTI_API_TOKEN)" if status == 401 else ""
        super().__init__(f"{status} {code}: {message}{hint}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body  # as received: some answers (a 503 from /health) are not envelopes


def read_token(environ: Mapping[str, str] | None = None) -> str:
    """CTI_API_TOKEN, else the lab's token file $CTI_DATA_DIR/api-token."""
    settings = ClientSettings.from_environ(environ)
    if settings.api_token:
        return settings.api_token
    path = settings.data_dir / "api-token"
    try:
        token = path.read_text().strip()
    except OSError:
        token = ""
    if not token:
        raise ConfigError("CTI_API_TOKEN", f"is not set, and {path} does not exist or is empty")
    return token


@dataclass(frozen=True)
class ApiClient:
    base_url: str
    token: str
    timeout: float = 10.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ApiClient:
        return cls(ClientSettings.from_environ(environ).api_url, read_token(environ))

    # ------------------------------------------------------------------------------ calls
    def health(self) -> HealthOut:
        """The worker's health, also when it is unavailable (/health answers 503 with the
        same body, ``status`` "unavailable" and the ``problems``)."""
        try:
            return self._get("/health", HealthOut)
        except ApiRejected as exc:
            if exc.status != 503 or not exc.body:
                raise
            return self._parse(exc.body, HealthOut)

    def channels(self) -> list[ChannelOut]:
        return self._get("/channels", ChannelList).channels

    def bridges(self) -> list[BridgeOut]:
        return self._get("/bridges", BridgeList).bridges

    def endpoints(self) -> list[EndpointOut]:
        return self._get("/endpoints", EndpointList).endpoints

    def call(self, from_extension: str, to_extension: str) -> str:
        body = {"from_extension": from_extension, "to_extension": to_extension}
        raw = self._request("POST", "/calls", body)
        return self._parse(raw, CallCreated).call_id

    def live_calls(self) -> list[LiveCallOut]:
        return self._get("/calls/live", LiveCallList).calls

    def history(self, **filters: str | float | int | None) -> CallList:
        """Recorded calls, newest first (``GET /calls``); ``filters`` are its query parameters
        (since, until, caller, extension, disposition, limit, offset), None ones left out."""
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        return self._get(f"/calls?{query}" if query else "/calls", CallList)

    def recorded_call(self, call_id: str) -> CallDetailOut:
        """One recorded call with its event timeline (``GET /calls/{id}``)."""
        return self._get(f"/calls/{_segment(call_id)}", CallDetailOut)

    def hangup(self, channel_id: str) -> None:
        self._request("DELETE", f"/channels/{_segment(channel_id)}")

    def transfer(self, channel_id: str, extension: str) -> None:
        """Blind transfer of ``channel_id``'s call (``POST /channels/{id}/transfer``)."""
        self._request(
            "POST", f"/channels/{_segment(channel_id)}/transfer", {"extension": extension}
        )

    def start_transfer(self, channel_id: str, extension: str, mode: TransferMode) -> TransferOut:
        """The party on ``channel_id`` goes to ``extension`` (``POST /transfers``)."""
        body = {"call": channel_id, "to": extension, "mode": mode}
        return self._parse(self._request("POST", "/transfers", body), TransferOut)

    def get_transfer(self, transfer_id: str) -> TransferOut:
        return self._get(f"/transfers/{_segment(transfer_id)}", TransferOut)

    def complete_transfer(self, transfer_id: str) -> TransferOut:
        raw = self._request("POST", f"/transfers/{_segment(transfer_id)}/complete")
        return self._parse(raw, TransferOut)

    def cancel_transfer(self, transfer_id: str) -> TransferOut:
        raw = self._request("DELETE", f"/transfers/{_segment(transfer_id)}")
        return self._parse(raw, TransferOut)

    def hold(self, channel_id: str) -> None:
        self._request("POST", f"/channels/{_segment(channel_id)}/hold")

    def unhold(self, channel_id: str) -> None:
        self._request("DELETE", f"/channels/{_segment(channel_id)}/hold")

    def events(self, extension: str | None = None) -> Iterator[dict[str, Any]]:
        """Screen pops from ``/events/sse`` as they happen, until the server ends the stream."""
        query = f"?{urllib.parse.urlencode({'extension': extension})}" if extension else ""
        request = self._build("GET", f"/events/sse{query}", None)
        request.add_header("Accept", "text/event-stream")
        with self._open(request, timeout=None) as response:
            data: list[str] = []
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif not line and data:
                    yield json.loads("\n".join(data))
                    data = []

    # ------------------------------------------------------------------------------ queues
    def queues(self) -> list[QueueOut]:
        return self._get("/queues", QueueList).queues

    def queue(self, name: str) -> QueueOut:
        return self._get(f"/queues/{_segment(name)}", QueueOut)

    def agents(self) -> list[AgentOut]:
        return self._get("/agents", AgentList).agents

    def login_agent(self, extension: str, queues: Sequence[str] = ()) -> AgentOut:
        """Log in to ``queues``; none: every queue that lists ``extension`` as an agent."""
        body = {"queues": list(queues)} if queues else None
        return self._agent("POST", extension, "login", body)

    def logout_agent(self, extension: str, queues: Sequence[str] = ()) -> AgentOut:
        """Log out of ``queues``; none: every queue ``extension`` logged in to."""
        body = {"queues": list(queues)} if queues else None
        return self._agent("POST", extension, "logout", body)

    def pause_agent(self, extension: str, reason: str | None = None) -> AgentOut:
        """Offer ``extension`` no calls until :meth:`unpause_agent`; ``reason`` is optional."""
        body = {"reason": reason} if reason is not None else None
        return self._agent("POST", extension, "pause", body)

    def unpause_agent(self, extension: str) -> AgentOut:
        return self._agent("DELETE", extension, "pause")

    def _agent(
        self, method: str, extension: str, action: str, body: Mapping[str, Any] | None = None
    ) -> AgentOut:
        raw = self._request(method, f"/agents/{_segment(extension)}/{action}", body)
        return self._parse(raw, AgentOut)

    # ------------------------------------------------------------------------------ plumbing
    def _get(self, path: str, model: type[M]) -> M:
        return self._parse(self._request("GET", path), model)

    def _parse(self, raw: bytes, model: type[M]) -> M:
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            raise ApiClientError(f"unexpected answer from {self.base_url}: {exc}") from exc

    def _build(
        self, method: str, path: str, body: Mapping[str, Any] | None
    ) -> urllib.request.Request:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        return request

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> bytes:
        with self._open(self._build(method, path, body), self.timeout) as response:
            payload: bytes = response.read()
            return payload

    def _open(self, request: urllib.request.Request, timeout: float | None) -> Any:
        try:
            return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http(s) only)
        except urllib.error.HTTPError as exc:
            raise _rejected(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachable(self.base_url, str(reason)) from None


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def _rejected(exc: urllib.error.HTTPError) -> ApiRejected:
    try:
        body = exc.read()
    except OSError:
        body = b""
    finally:
        exc.close()
    try:
        error = json.loads(body)["error"]
        return ApiRejected(exc.code, str(error["code"]), str(error["message"]), body)
    except (ValueError, KeyError, TypeError):
        return ApiRejected(exc.code, f"http-{exc.code}", str(exc.reason), body)


__all__ = ["ApiClient", "ApiClientError", "ApiRejected", "ApiUnreachable", "read_token"]
