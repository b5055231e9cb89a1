"""The project's error tree.

Every error the product raises on purpose derives from :class:`CtiError`, so a caller can catch
"anything cti decided was wrong" in one place. Errors carry the offending input as attributes, and
the other side's failures (Asterisk, the network) are kept apart from ours (bad configuration, a bad
IVR file, an illegal state transition)::

    CtiError
    ├── ConfigError                 a setting is missing or malformed (names the variable)
    ├── LabError                    the native lab cannot be built, started or reached
    ├── SoundsError                 prompts cannot be loaded, generated or installed
    │   └── CatalogError            sounds/prompts.toml is invalid (lists every problem)
    ├── IvrError
    │   ├── IvrDefinitionError      an IVR file is invalid (lists every problem with its path)
    │   └── IllegalTransition       the IVR engine was fed an input its state does not accept
    ├── CallError
    │   └── IllegalCallInput        the call machine was fed an input its stage does not accept
    ├── AriError                    anything between us and Asterisk's REST interface
    │   ├── AriConnectionError      transport failure: refused, reset, timed out (retryable)
    │   ├── AriAuthError            401: wrong ARI credentials (fatal: retrying cannot help)
    │   ├── AriProtocolError        Asterisk sent JSON without a field ARI promises (names it)
    │   ├── AriInvalidId            an id that would change a request's URL path (".", "..", "/",
    │   │                           "?", "#", "%", control characters): refused before sending
    │   └── AriHttpError            any other non-2xx answer; carries method, path, status, body
    │       ├── AriNotFound         404: the channel/bridge/playback no longer exists
    │       └── AriConflict         409: the resource is in the wrong state (e.g. not in Stasis)
    ├── EventsError                 call events cannot be found, stored, shipped or set up
    │                               (a url they carry never holds user:password@: redacted)
    │   ├── CallNotFound            no call with this id in the call store (carries the id)
    │   ├── StoreSchemaTooNew       the history file was made by a newer cti (file, both versions)
    │   ├── BackupError             `cti calls backup` failed (the file and why); no copy is left
    │   ├── SubscriberLimit         the event bus has its CTI_MAX_SUBSCRIBERS streams already
    │   ├── EsConnectionError       Elasticsearch/OpenSearch/Kibana unreachable (url, reason)
    │   ├── EsHttpError             a non-2xx answer; carries method, url, status, body
    │   │   └── EsAuthError         401/403: credentials rejected (fatal: retrying cannot help)
    │   ├── EsTemplateMissing       the index template is absent and cannot be installed: the
    │   │                           sink will not ship to a plain index (url, template, reason)
    │   └── DashboardImportError    Kibana refused some saved objects (lists each with its error)
    └── ApiError                    a REST request cannot be served (one code + HTTP status each)
        ├── InvalidRequest          400 invalid-request: a field is malformed (names the field)
        ├── Unauthorized            401 unauthorized: no bearer token or session, or a wrong one
        ├── CsrfRejected            403 csrf-rejected: a console change without its CSRF token
        ├── PayloadTooLarge         413 payload-too-large: the body is over CTI_MAX_BODY_BYTES
        ├── ChannelNotFound         404 channel-not-found: no live channel with that id
        ├── ExtensionNotFound       404 extension-not-found: no PJSIP endpoint with that number
        ├── ExtensionUnavailable    409 extension-unavailable: it exists but is not registered
        ├── TransferNotFound        404 transfer-not-found: no such transfer (live or recent)
        ├── CallStateConflict       409 call-state-conflict: the call cannot do that in its stage
        ├── QueueNotFound           404 queue-not-found: no queue of that name
        ├── AgentNotFound           404 agent-not-found: the extension is no queue's member or agent
        ├── AgentStateConflict      409 agent-state-conflict: not allowed now (details.reason)
        ├── HistoryUnavailable      503 history-unavailable: the worker keeps no call history
        └── TooManySubscribers      503 too-many-subscribers: every event-stream slot is taken
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from stasis_app.redact import redact_url


class CtiError(Exception):
    """Base of every error cti raises on purpose."""


class ConfigError(CtiError):
    """A setting is missing or malformed."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class LabError(CtiError):
    """The native Asterisk lab cannot be built, started or reached."""


class SoundsError(CtiError):
    """Prompts cannot be loaded, generated or installed (bad catalog, missing or failing tool)."""


class CatalogError(SoundsError):
    """The prompt catalog is invalid; ``problems`` lists every problem, each naming its entry."""

    def __init__(self, source: str, problems: tuple[str, ...]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")


class IvrError(CtiError):
    """Base of IVR definition and engine errors."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an IVR definition, located by a dotted path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class IvrDefinitionError(IvrError):
    """An IVR definition is invalid. ``problems`` lists every error found, not just the first."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


class IllegalTransition(IvrError):
    """The IVR engine received an input that its current state does not accept."""

    def __init__(self, state: str, event: object) -> None:
        super().__init__(f"input {event!r} is not accepted in state {state!r}")
        self.state = state
        self.event = event


class CallError(CtiError):
    """Base of the call machine's errors."""


class IllegalCallInput(CallError):
    """The call machine received an input that its current stage does not accept.

    The call task logs it and ends the call cleanly (the caller hears a prompt, never silence).
    """

    def __init__(self, stage: str, event: object) -> None:
        super().__init__(f"input {event!r} is not accepted in stage {stage!r}")
        self.stage = stage
        self.event = event


class AriError(CtiError):
    """Base of failures talking to Asterisk's REST interface."""


class AriConnectionError(AriError):
    """The ARI transport failed (connection refused, reset, timeout). Retrying may help."""


class AriAuthError(AriError):
    """Asterisk rejected the ARI credentials. Retrying cannot help; the operator must fix them."""


class AriProtocolError(AriError):
    """Asterisk sent JSON that does not have the shape the ARI description promises.

    ``kind`` is what was being parsed (``"Channel"``, ``"StasisStart event"``), ``field`` the dotted
    path of the offending field (``"channel.caller.number"``).
    """

    def __init__(self, kind: str, field: str, problem: str) -> None:
        super().__init__(f"malformed {kind}: field {field!r} {problem}")
        self.kind = kind
        self.field = field
        self.problem = problem


class AriInvalidId(AriError):
    """An id (channel, bridge, playback, app, endpoint part) would change the path of the URL it
    goes into: ``.`` or ``..`` (resolved by URL normalisation), or a character that ends or
    re-splits the path (``/ \\ ? # %``, whitespace, control characters). It is refused before any
    request, because escaping alone is not enough: ``..`` needs none, and a proxy or Asterisk may
    decode ``%2F`` once more. Our side's mistake (or a client's input let through), not Asterisk's.
    """

    def __init__(self, value: str, problem: str) -> None:
        super().__init__(f"id {value!r} cannot go into an ARI URL path: {problem}")
        self.value = value
        self.problem = problem


class AriHttpError(AriError):
    """Asterisk answered a REST request with a non-2xx status."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:200]}")
        self.method = method
        self.path = path
        self.status = status
        self.body = body


class AriNotFound(AriHttpError):
    """404: the resource (channel, bridge, playback) does not exist, often because it just ended."""


class AriConflict(AriHttpError):
    """409: the resource exists but is in the wrong state for the operation."""


class EventsError(CtiError):
    """Base of call-event failures: the store, the Elasticsearch sink, ``cti es setup``."""


class CallNotFound(EventsError):
    """No call with ``call_id`` is in the call store (never recorded, or purged by retention)."""

    def __init__(self, call_id: str) -> None:
        super().__init__(f"no call {call_id!r} in the call store")
        self.call_id = call_id


class StoreSchemaTooNew(EventsError):
    """The history file's schema version is newer than this code knows: opening it could
    corrupt it, so it is refused (run the newer cti, or move the file away)."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        super().__init__(
            f"{path} has schema version {found}, newer than this cti supports ({supported}): "
            "it was written by a newer release; run that release or move the file away"
        )
        self.path = path
        self.found = found
        self.supported = supported


class BackupError(EventsError):
    """``cti calls backup`` could not make the copy; the message names the file and why.
    Nothing that looks complete is left at the destination."""


class SubscriberLimit(EventsError):
    """The event bus already feeds ``limit`` subscribers (``CTI_MAX_SUBSCRIBERS``): each costs a
    queue and a share of every emit on the event loop, so their number is bounded."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the event bus already has {limit} subscribers (its limit)")
        self.limit = limit


class EsConnectionError(EventsError):
    """Elasticsearch, OpenSearch or Kibana could not be reached at ``url``. Retrying may help."""

    def __init__(self, url: str, reason: str) -> None:
        url = redact_url(url)  # errors are printed and logged: a user:password@ must not be
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class EsHttpError(EventsError):
    """Elasticsearch, OpenSearch or Kibana answered with a non-2xx status."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        url = redact_url(url)
        super().__init__(f"{method} {url} -> {status}: {body[:300]}")
        self.method = method
        self.url = url
        self.status = status
        self.body = body


class EsAuthError(EsHttpError):
    """401/403: the credentials are wrong or lack a privilege. Retrying cannot help."""


class EsTemplateMissing(EventsError):
    """The index template ``template`` is missing at ``url`` and the worker may not install it."""

    def __init__(self, url: str, template: str, reason: str) -> None:
        url = redact_url(url)
        super().__init__(
            f"index template {template} is missing at {url} and could not be installed "
            f"({reason}); not shipping to a plain index: run `cti es setup` or give the "
            "worker's credentials the manage_index_templates privilege"
        )
        self.url = url
        self.template = template
        self.reason = reason


class DashboardImportError(EventsError):
    """Kibana accepted the import request but rejected objects; ``problems`` names each one."""

    def __init__(self, url: str, problems: tuple[str, ...]) -> None:
        url = redact_url(url)
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{url}: {len(problems)} saved object(s) rejected\n{lines}")
        self.url = url
        self.problems = problems


class ApiError(CtiError):
    """A REST request cannot be served. Each subclass has one stable ``code`` and HTTP ``status``;
    ``details`` carries the offending input, so a client can act on it without parsing ``message``.
    """

    code: ClassVar[str] = "bad-request"
    status: ClassVar[int] = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidRequest(ApiError):
    """A request field is malformed; ``field`` is its location, e.g. ``"body.to_extension"``."""

    code = "invalid-request"
    status = 400

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", field=field, problem=problem)
        self.field = field
        self.problem = problem


class Unauthorized(ApiError):
    """The request has no bearer token, or the wrong one."""

    code = "unauthorized"
    status = 401


class CsrfRejected(ApiError):
    """A change sent with the console's session cookie but without the session's CSRF token,
    or from another origin: what a forged cross-site request looks like."""

    code = "csrf-rejected"
    status = 403

    def __init__(self, problem: str) -> None:
        super().__init__(f"the request {problem}")


class PayloadTooLarge(ApiError):
    """The request body is larger than the worker accepts (``CTI_MAX_BODY_BYTES``): refused as
    soon as ``Content-Length`` says so, or while the body streams in, before anything parses it."""

    code = "payload-too-large"
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes", limit=limit)
        self.limit = limit


class ChannelNotFound(ApiError):
    """No live channel has this id (it may just have hung up)."""

    code = "channel-not-found"
    status = 404

    def __init__(self, channel_id: str) -> None:
        super().__init__(f"no live channel {channel_id!r}", channel_id=channel_id)
        self.channel_id = channel_id


class ExtensionNotFound(ApiError):
    """No PJSIP endpoint has this extension number."""

    code = "extension-not-found"
    status = 404

    def __init__(self, extension: str) -> None:
        super().__init__(f"no extension {extension!r}", extension=extension)
        self.extension = extension


class ExtensionUnavailable(ApiError):
    """The extension exists but cannot be rung now (not registered, no contact)."""

    code = "extension-unavailable"
    status = 409

    def __init__(self, extension: str, reason: str = "not registered") -> None:
        super().__init__(
            f"extension {extension!r} is unavailable: {reason}", extension=extension, reason=reason
        )
        self.extension = extension
        self.reason = reason


class TransferNotFound(ApiError):
    """No transfer has this id (transfers are kept for a while after they end)."""

    code = "transfer-not-found"
    status = 404

    def __init__(self, transfer_id: str) -> None:
        super().__init__(f"no transfer {transfer_id!r}", transfer_id=transfer_id)
        self.transfer_id = transfer_id


class CallStateConflict(ApiError):
    """The call (or transfer) cannot do what was asked in its current stage; ``reason`` says why,
    e.g. "channel is not talking to anyone" or "transfer target has not answered"."""

    code = "call-state-conflict"
    status = 409

    def __init__(self, subject: str, reason: str, **details: Any) -> None:
        super().__init__(f"{subject}: {reason}", subject=subject, reason=reason, **details)
        self.subject = subject
        self.reason = reason


class QueueNotFound(ApiError):
    """No queue has this name."""

    code = "queue-not-found"
    status = 404

    def __init__(self, queue: str) -> None:
        super().__init__(f"no queue {queue!r}", queue=queue)
        self.queue = queue


class AgentNotFound(ApiError):
    """The extension is neither a member nor an agent of any queue."""

    code = "agent-not-found"
    status = 404

    def __init__(self, extension: str) -> None:
        super().__init__(
            f"extension {extension!r} is no queue's member or agent", extension=extension
        )
        self.extension = extension


class AgentStateConflict(ApiError):
    """The agent cannot do that now, e.g. log in to a queue that does not list it, log out of a
    queue it is a static member of, or unpause while not paused; ``reason`` says which."""

    code = "agent-state-conflict"
    status = 409

    def __init__(self, extension: str, reason: str, **details: Any) -> None:
        super().__init__(
            f"agent {extension}: {reason}", extension=extension, reason=reason, **details
        )
        self.extension = extension
        self.reason = reason


class HistoryUnavailable(ApiError):
    """The worker runs without a call history store, so past calls cannot be listed."""

    code = "history-unavailable"
    status = 503

    def __init__(self) -> None:
        super().__init__("this worker keeps no call history")


class TooManySubscribers(ApiError):
    """Every event-stream slot is taken (``CTI_MAX_SUBSCRIBERS``); try again later."""

    code = "too-many-subscribers"
    status = 503

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the worker already serves {limit} event streams (its limit)", limit=limit
        )
        self.limit = limit
