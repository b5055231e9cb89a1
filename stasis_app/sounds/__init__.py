"""Generated voice prompts: a TOML catalog, espeak-ng + sox, and an Asterisk install step.

``cti sounds build`` writes ``sounds/<lang>/<prompt>.wav|.ulaw`` (8 kHz mono); ``cti sounds
install`` copies them to ``/usr/share/asterisk/sounds/<lang>/cti/`` where a playback of
``sound:cti/<prompt>`` finds them in the channel's language. See docs/prompts.md.
"""

from stasis_app.errors import CatalogError, SoundsError
from stasis_app.sounds.builder import (
    BuildReport,
    Progress,
    available_prompts,
    build,
    install,
    plan_build,
    prompt_exists,
)
from stasis_app.sounds.catalog import Catalog, Prompt, Voice, load_catalog
from stasis_app.sounds.cli import app

__all__ = [
    "BuildReport",
    "Catalog",
    "CatalogError",
    "Progress",
    "Prompt",
    "SoundsError",
    "Voice",
    "app",
    "available_prompts",
    "build",
    "install",
    "load_catalog",
    "plan_build",
    "prompt_exists",
]
