"""Generate prompts with espeak-ng + sox, incrementally, and install them where Asterisk looks.

Every output (``<lang>/<prompt>.wav`` or ``.ulaw``) has a digest of everything that shapes its
audio: the text, the voice settings and the exact tool arguments. ``<out>/.manifest.json`` maps each
output to the digest it was built from, so a rebuild regenerates an output only when its digest
changed or its file is gone. Deciding that (:func:`plan_build`) is pure; running the tools is not.

Files are written to a temporary name in the target folder and renamed into place, so an interrupted
build or install never leaves a truncated prompt behind, and the manifest is updated after each
finished prompt so the next run resumes where this one stopped.
"""

from __future__ import annotations

import contextlib
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from stasis_app.errors import SoundsError
from stasis_app.sounds.catalog import PROMPT_NAME, Catalog, Voice

SAMPLE_RATE = 8000
MANIFEST_NAME = ".manifest.json"
# Bump when the pipeline changes in a way the tool arguments below do not capture.
FORMAT_VERSION = 1
# Output options per extension: what Asterisk plays without transcoding on a G.711/slin channel.
FORMATS: Mapping[str, tuple[str, ...]] = {
    "wav": ("-t", "wav", "-r", str(SAMPLE_RATE), "-c", "1", "-e", "signed-integer", "-b", "16"),
    "ulaw": ("-t", "ul", "-r", str(SAMPLE_RATE), "-c", "1"),
}
# Quiet, repeatable, no dither (dither turns mu-law silence into hiss).
SOX_GLOBAL = ("-V1", "-R", "-D")
# Peak-normalise so every prompt plays at the same level; sox inserts the rate change itself.
_SOX_EFFECTS = ("gain", "-n", "-3")
# The build output's folder for music on hold (music.py): not a language, so install() skips it.
MUSIC_FOLDER = "moh"
_TOOL_TIMEOUT = 120.0
_INSTALL_HINT = "install it with `apt-get install {tool}`"


@dataclass(frozen=True)
class Output:
    """One file to produce: ``<language>/<prompt>.<ext>`` and the digest of its inputs."""

    language: str
    prompt: str
    ext: str
    digest: str

    @property
    def path(self) -> str:
        return f"{self.language}/{self.prompt}.{self.ext}"


@dataclass(frozen=True)
class Job:
    """One espeak-ng run and the conversions of its speech that are out of date."""

    language: str
    prompt: str
    text: str
    voice: Voice
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class Plan:
    """What a build will do: ``jobs`` to run and the ``fresh`` outputs it leaves alone."""

    jobs: tuple[Job, ...]
    fresh: tuple[Output, ...]

    @property
    def stale(self) -> tuple[Output, ...]:
        return tuple(out for job in self.jobs for out in job.outputs)

    @property
    def total(self) -> int:
        return len(self.fresh) + len(self.stale)


@dataclass(frozen=True)
class Progress:
    """Reported once per output: ``done`` of ``total``, and whether it was built or up to date."""

    done: int
    total: int
    path: str
    built: bool


@dataclass(frozen=True)
class BuildReport:
    out_dir: Path
    built: tuple[str, ...]
    skipped: tuple[str, ...]


ProgressCallback = Callable[[Progress], None]


def output_digest(text: str, voice: Voice, ext: str) -> str:
    """The digest of everything that decides the audio of one output file."""
    inputs = {
        "format": FORMAT_VERSION,
        "text": text,
        "espeak": list(voice.espeak_args()),
        "sox": [*SOX_GLOBAL, *FORMATS[ext], *_SOX_EFFECTS],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def select_languages(catalog: Catalog, languages: Iterable[str] | None) -> tuple[str, ...]:
    if languages is None:
        return catalog.languages
    chosen = tuple(dict.fromkeys(languages))
    unknown = [lang for lang in chosen if lang not in catalog.voices]
    if unknown:
        raise SoundsError(
            f"unknown language {', '.join(map(repr, unknown))} "
            f"(the catalog has: {', '.join(catalog.languages)})"
        )
    return chosen


def all_outputs(catalog: Catalog, languages: Iterable[str] | None = None) -> tuple[Output, ...]:
    """Every output of the catalog, in build order (language, then prompt, then format)."""
    return tuple(
        Output(lang, prompt.name, ext, output_digest(prompt.texts[lang], catalog.voices[lang], ext))
        for lang in select_languages(catalog, languages)
        for prompt in catalog.prompts
        for ext in FORMATS
    )


def plan_build(
    catalog: Catalog,
    manifest: Mapping[str, str],
    existing: Collection[str],
    languages: Iterable[str] | None = None,
) -> Plan:
    """Pure: which outputs are stale (digest changed, or file not in ``existing``), grouped by
    the espeak-ng run that feeds them."""
    stale: dict[tuple[str, str], list[Output]] = {}
    fresh: list[Output] = []
    for out in all_outputs(catalog, languages):
        if manifest.get(out.path) == out.digest and out.path in existing:
            fresh.append(out)
        else:
            stale.setdefault((out.language, out.prompt), []).append(out)
    jobs = tuple(
        Job(lang, name, catalog.prompt(name).texts[lang], catalog.voices[lang], tuple(outs))
        for (lang, name), outs in stale.items()
    )
    return Plan(jobs, tuple(fresh))


def read_manifest(out_dir: Path) -> dict[str, str]:
    """The recorded digests; an unreadable manifest only costs a full rebuild."""
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    outputs = data.get("outputs") if isinstance(data, dict) else None
    if not isinstance(outputs, dict):
        return {}
    return {k: v for k, v in outputs.items() if isinstance(k, str) and isinstance(v, str)}


def build(
    catalog: Catalog,
    out_dir: Path,
    *,
    languages: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    workers: int = 2,
) -> BuildReport:
    """Generate the out-of-date prompts of ``languages`` (default: all) into ``out_dir``."""
    chosen = select_languages(catalog, languages)
    manifest = read_manifest(out_dir)
    candidates = all_outputs(catalog, chosen)
    existing = {out.path for out in candidates if (out_dir / out.path).is_file()}
    plan = plan_build(catalog, manifest, existing, chosen)
    report = _Reporter(plan.total, progress)
    for out in plan.fresh:
        report(out.path, built=False)
    if not plan.jobs:
        return BuildReport(out_dir, (), tuple(out.path for out in plan.fresh))

    espeak, sox = require_tool("espeak-ng"), require_tool("sox")
    for lang in chosen:
        (out_dir / lang).mkdir(parents=True, exist_ok=True)
    known = {out.path for out in all_outputs(catalog)}
    built: list[str] = []
    failure: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sounds")
    try:
        pending: set[Future[Job]] = {
            pool.submit(_run_job, job, espeak, sox, out_dir) for job in plan.jobs
        }
        while pending and failure is None:
            finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in finished:
                failure = failure or future.exception()
                if future.exception() is None:
                    for out in future.result().outputs:
                        manifest[out.path] = out.digest
                        built.append(out.path)
                        report(out.path, built=True)
            # Recorded as we go, so an interrupted or failed build resumes instead of restarting.
            _write_manifest(out_dir, manifest, known)
    finally:
        # On a failure or Ctrl-C, queued prompts are dropped; running ones finish (atomically).
        pool.shutdown(wait=True, cancel_futures=True)
    if failure is not None:
        raise failure
    return BuildReport(out_dir, tuple(built), tuple(out.path for out in plan.fresh))


class _Reporter:
    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.done, self.callback = total, 0, callback

    def __call__(self, path: str, *, built: bool) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(Progress(self.done, self.total, path, built))


def require_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SoundsError(f"{name} not found: {_INSTALL_HINT.format(tool=name)}")
    return found


def _run_job(job: Job, espeak: str, sox: str, out_dir: Path) -> Job:
    where = f"prompt {job.prompt!r} ({job.language})"
    with tempfile.TemporaryDirectory(prefix="cti-sounds-") as tmp:
        speech = Path(tmp) / "speech.wav"
        # The text is one argv element after "--": no shell, and a leading '-' stays text.
        run_tool(
            "espeak-ng",
            [espeak, *job.voice.espeak_args(), "-w", str(speech), "--", job.text],
            where,
        )
        for out in job.outputs:
            target = out_dir / out.path
            with atomic_target(target) as part:
                cmd = [sox, *SOX_GLOBAL, str(speech), *FORMATS[out.ext], str(part), *_SOX_EFFECTS]
                run_tool("sox", cmd, where)
    return job


def run_tool(tool: str, argv: list[str], where: str) -> None:
    try:
        done = subprocess.run(argv, capture_output=True, timeout=_TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise SoundsError(f"{tool} timed out after {_TOOL_TIMEOUT:.0f} s on {where}") from exc
    except OSError as exc:
        raise SoundsError(f"{tool} could not run for {where}: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise SoundsError(f"{tool} failed for {where}: {detail}")


@contextlib.contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it into place only on success."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    part = Path(name)
    try:
        yield part
        os.chmod(part, 0o644)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _write_manifest(out_dir: Path, manifest: dict[str, str], known: Collection[str]) -> None:
    # Entries for prompts no longer in the catalog are dropped; other languages' entries stay.
    outputs = {path: manifest[path] for path in sorted(manifest) if path in known}
    text = json.dumps({"format": FORMAT_VERSION, "outputs": outputs}, indent=1) + "\n"
    target = out_dir / MANIFEST_NAME
    with atomic_target(target) as part:
        part.write_text(text, encoding="utf-8")


def install(
    out_dir: Path,
    asterisk_sounds_dir: Path,
    *,
    languages: Iterable[str] | None = None,
    owner: tuple[int, int] | None = None,
    resolve: Callable[[Path], Path] = lambda path: path,
) -> list[Path]:
    """Copy ``out_dir/<lang>/*.wav|.ulaw`` to ``asterisk_sounds_dir/<lang>/cti/``.

    Only files whose content differs are copied (atomically); ``owner`` is a ``(uid, gid)`` given to
    the copies and the folders created for them. ``resolve`` maps a language folder to where it
    really is (the lab resolves symlinks as seen from inside its chroot: Debian's
    ``sounds/en`` points at ``/etc/alternatives/...``). Returns the files written.
    """
    wanted = None if languages is None else set(languages)
    lang_dirs = [
        d
        for d in sorted(out_dir.iterdir() if out_dir.is_dir() else ())
        if d.is_dir()
        and not d.name.startswith(".")
        and d.name != MUSIC_FOLDER
        and (wanted is None or d.name in wanted)
    ]
    if not lang_dirs:
        raise SoundsError(f"no prompts in {out_dir}: run `cti sounds build` first")
    installed: list[Path] = []
    for lang_dir in lang_dirs:
        dest_dir = resolve(asterisk_sounds_dir / lang_dir.name) / "cti"
        for src in sorted(lang_dir.iterdir()):
            if src.suffix.lstrip(".") not in FORMATS or not PROMPT_NAME.match(src.stem):
                continue
            dest = dest_dir / src.name
            if dest.is_file() and filecmp.cmp(src, dest, shallow=False):
                continue
            make_dirs(dest_dir, owner)
            with atomic_target(dest) as part:
                shutil.copyfile(src, part)
                if owner is not None:
                    os.chown(part, *owner)
            installed.append(dest)
    return installed


def make_dirs(path: Path, owner: tuple[int, int] | None) -> None:
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    if owner is not None:
        for created in missing:
            os.chown(created, *owner)


def prompt_exists(sounds_dir: Path, language: str, name: str) -> bool:
    """True when ``sounds_dir/<language>/<name>`` exists as .wav or .ulaw."""
    if not PROMPT_NAME.match(name) or "/" in language or language.startswith("."):
        return False
    return any((sounds_dir / language / f"{name}.{ext}").is_file() for ext in FORMATS)


def available_prompts(sounds_dir: Path, language: str) -> frozenset[str]:
    """The names of the prompts present (as .wav or .ulaw) for ``language``."""
    lang_dir = sounds_dir / language
    if "/" in language or language.startswith(".") or not lang_dir.is_dir():
        return frozenset()
    return frozenset(
        f.stem
        for f in lang_dir.iterdir()
        if f.suffix.lstrip(".") in FORMATS and PROMPT_NAME.match(f.stem) and f.is_file()
    )
