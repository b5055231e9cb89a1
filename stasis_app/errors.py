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
    └── AriError                    anything between us and Asterisk's REST interface
        ├── AriConnectionError      transport failure: refused, reset, timed out (retryable)
        ├── AriAuthError            401: wrong ARI credentials (fatal: retrying cannot help)
        ├── AriProtocolError        Asterisk sent JSON without a field ARI promises (names it)
        └── AriHttpError            any other non-2xx answer; carries method, path, status, body
            ├── AriNotFound         404: the channel/bridge/playback no longer exists
            └── AriConflict         409: the resource is in the wrong state (e.g. not in Stasis)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
