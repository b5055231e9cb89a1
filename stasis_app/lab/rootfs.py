"""Building the lab's Debian sid root filesystem (once) and laying our files into it (every start).

The rootfs is cached outside the repository (``/var/cache/cti/lab`` by default) and reused: the
expensive step is debootstrap (about a minute, ~500 MB), everything after it takes milliseconds.
A build goes into ``rootfs.partial`` and is renamed only when complete, so an interrupted build is
never mistaken for a good one.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from stasis_app.errors import LabError

Progress = Callable[[str], None]

# Packages inside the rootfs. The stock English GSM sounds give Asterisk's own messages (and a
# fallback when a prompt of ours is missing); our prompts are installed separately.
PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm")
SUITE = "sid"
STAMP = ".cti-lab-built"

# Directories Asterisk writes to; they must belong to the rootfs's asterisk user.
WRITABLE_DIRS = (
    "var/lib/asterisk",
    "var/log/asterisk",
    "var/spool/asterisk",
    "var/run/asterisk",
    "var/cache/asterisk",
)


def require_root() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (it builds a root filesystem, mounts /proc and runs chroot): "
            "run the command as root, e.g. with sudo"
        )


def is_built(rootfs: Path) -> bool:
    return (rootfs / STAMP).is_file()


def build(rootfs: Path, progress: Progress, *, mirror: str | None = None) -> None:
    """debootstrap a sid rootfs with Asterisk into ``rootfs`` unless one is already there."""
    if is_built(rootfs):
        return
    require_root()
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise LabError("debootstrap is not installed: apt-get install -y debootstrap")
    partial = rootfs.with_name(rootfs.name + ".partial")
    unmount_proc(partial)
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    progress(f"building the Asterisk lab rootfs in {rootfs} (Debian {SUITE}, about a minute)")
    cmd = [
        debootstrap,
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(partial),
    ]
    if mirror:
        cmd.append(mirror)
    try:
        _run_debootstrap(cmd, progress)
    except BaseException:
        # A failed or interrupted build leaves nothing that could be mistaken for a rootfs.
        unmount_proc(partial)
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if not (partial / "usr/sbin/asterisk").is_file():
        raise LabError(f"debootstrap finished but {partial}/usr/sbin/asterisk is missing")
    version = subprocess.run(
        ["chroot", str(partial), "dpkg-query", "-W", "-f=${Version}", "asterisk"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    (partial / STAMP).write_text(f"asterisk {version}\n")
    if rootfs.exists():
        shutil.rmtree(rootfs)
    partial.rename(rootfs)
    progress(f"lab rootfs ready: Asterisk {version}")


def _run_debootstrap(cmd: list[str], progress: Progress) -> None:
    """Run debootstrap, reporting one line per phase, and turn its failures into clear errors."""
    tail: list[str] = []
    seen: dict[str, int] = {}
    # The context closes the pipe and reaps the process even when reading fails part-way (an
    # unclosed pipe is a ResourceWarning, which the strict test settings turn into an error).
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
    ) as proc:
        if proc.stdout is None:  # pragma: no cover - stdout=PIPE always gives a stream
            raise LabError("debootstrap output could not be read")
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-40:], line]
            if line.startswith("I: "):
                # One line per phase, then one per 50 packages: progress without a flood.
                word = line[3:].split(" ", 1)[0]
                seen[word] = count = seen.get(word, 0) + 1
                if count == 1:
                    progress(f"  debootstrap: {line[3:]}")
                elif count % 50 == 0:
                    progress(f"  debootstrap: {word.lower()} ... {count} packages")
        code = proc.wait()
    if code != 0:
        raise debootstrap_failure(code, "\n".join(tail))


def debootstrap_failure(code: int, text: str) -> LabError:
    """The clear error for a failed debootstrap, from its exit code and last lines (pure)."""
    if "Couldn't find these debs" in text:
        missing = text.split("Couldn't find these debs:", 1)[1].splitlines()[0].strip()
        return LabError(
            f"the Debian {SUITE} archive has no package {missing!r}: the archive moves, so "
            f"check `apt-cache policy` against {SUITE} or set CTI_LAB_MIRROR to a snapshot\n{text}"
        )
    if "Failed getting release file" in text or "Temporary failure resolving" in text:
        return LabError(
            f"the Debian package archive is unreachable (debootstrap could not fetch the {SUITE} "
            f"release file); check the network or set CTI_LAB_MIRROR\n{text}"
        )
    return LabError(f"debootstrap failed with exit code {code}:\n{text}")


# The host's own system account for the lab Asterisk (decision 0011): the rootfs's asterisk user
# is given its ids, so the files and the process the lab makes belong to no other host account
# (the rootfs's own asterisk uid, 101, was the host's postgres on the machine this was built on).
HOST_ACCOUNT = "cti-asterisk"


def host_account(name: str = HOST_ACCOUNT, comment: str = "cti lab Asterisk") -> tuple[int, int]:
    """uid and gid of the host system account ``name`` (no home, no shell), made on first use."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        made = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", "--comment", comment, name],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if made.returncode != 0:
            raise LabError(
                f"cannot create the host account {name} ({comment}): "
                f"{made.stderr.strip() or made.returncode}"
            ) from None
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def adopt_host_account(rootfs: Path) -> tuple[int, int]:
    """Give the rootfs's asterisk user and group the ids of the host's ``cti-asterisk`` (its
    files follow, once); returns them."""
    new_uid, new_gid = host_account()
    old_uid, old_gid = asterisk_ids(rootfs)
    if (old_uid, old_gid) == (new_uid, new_gid):
        return new_uid, new_gid
    _set_ids(rootfs / "etc/passwd", "asterisk", {2: new_uid, 3: new_gid}, taken_at=2)
    _set_ids(rootfs / "etc/group", "asterisk", {2: new_gid}, taken_at=2)
    for top, dirs, files in os.walk(rootfs):
        if Path(top) == rootfs:
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
        for name in (*dirs, *files):
            path = os.path.join(top, name)
            st = os.lstat(path)
            uid = new_uid if st.st_uid == old_uid else -1
            gid = new_gid if st.st_gid == old_gid else -1
            if uid != -1 or gid != -1:
                os.lchown(path, uid, gid)
    return new_uid, new_gid


def _set_ids(table: Path, name: str, fields: dict[int, int], *, taken_at: int) -> None:
    """Set ``fields`` of ``name``'s line in a passwd/group file; refuse an id another entry of
    the rootfs already has (its files would become ours)."""
    lines = table.read_text().splitlines()
    wanted = str(fields[taken_at])
    out = []
    for line in lines:
        parts = line.split(":")
        if parts[0] != name and len(parts) > taken_at and parts[taken_at] == wanted:
            raise LabError(
                f"{table}: {parts[0]} already has id {wanted}, the host's {HOST_ACCOUNT}'s; "
                "rebuild the lab rootfs"
            )
        if parts[0] == name:
            for index, value in fields.items():
                parts[index] = str(value)
        out.append(":".join(parts))
    table.write_text("\n".join(out) + "\n")


def asterisk_ids(rootfs: Path) -> tuple[int, int]:
    """uid and gid of the rootfs's own ``asterisk`` user (the host's ``cti-asterisk`` once
    :func:`adopt_host_account` ran; read, never assumed)."""
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "asterisk":
            return int(fields[2]), int(fields[3])
    raise LabError(f"{rootfs}/etc/passwd has no asterisk user: the rootfs is damaged, rebuild it")


def prepare(rootfs: Path, config_dir: Path) -> None:
    """Lay out name resolution, our Asterisk configuration and writable dirs inside the rootfs."""
    # Without a hosts entry and a loopback resolver Asterisk's SIP stack stalled ~31 s at start
    # resolving the host name, sending DNS queries off the machine.
    hostname = socket.gethostname()
    (rootfs / "etc/hosts").write_text(f"127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost\n")
    resolv = rootfs / "etc/resolv.conf"
    if resolv.is_symlink():
        resolv.unlink()
    resolv.write_text("nameserver 127.0.0.1\n")

    uid, gid = adopt_host_account(rootfs)
    configs = sorted(config_dir.glob("*.conf"))
    if not configs:
        raise LabError(f"no Asterisk configuration found in {config_dir}")
    etc = rootfs / "etc/asterisk"
    # The packaged sample configs would be read by modules we load; only ours may be there.
    shutil.rmtree(etc, ignore_errors=True)
    etc.mkdir(mode=0o750)
    os.chown(etc, 0, gid)
    for conf in configs:
        target = etc / conf.name
        shutil.copyfile(conf, target)
        os.chown(target, 0, gid)
        target.chmod(0o640)
    for rel in WRITABLE_DIRS:
        # Taken as the chrooted Asterisk sees it: Debian's var/run is a link to /run, which
        # from the host is the host's /run (an asterisk dir there, owned by a uid that may be
        # one of the host's own accounts).
        path = resolve_in_root(rootfs, rootfs / rel)
        path.mkdir(parents=True, exist_ok=True)
        for p in (path, *path.rglob("*")):
            os.lchown(p, uid, gid)


def resolve_in_root(rootfs: Path, path: Path) -> Path:
    """``path`` (under ``rootfs``) with symlinks followed as a process chrooted there sees them.

    Debian links ``/usr/share/asterisk/sounds/en`` to ``/etc/alternatives/...``: from the host,
    that absolute target is the host's path (dangling), not the rootfs's.
    """
    current = rootfs
    for part in path.relative_to(rootfs).parts:
        candidate = current / part
        for _ in range(40):
            if not candidate.is_symlink():
                break
            target = os.readlink(candidate)
            base = rootfs if os.path.isabs(target) else candidate.parent
            candidate = Path(os.path.normpath(base / target.lstrip("/")))
            if rootfs not in (candidate, *candidate.parents):
                raise LabError(f"{path} escapes the lab rootfs through a symlink")
        else:
            raise LabError(f"symlink loop at {candidate}")
        current = candidate
    return current


def proc_mounted(rootfs: Path) -> bool:
    target = str((rootfs / "proc").resolve())
    with open("/proc/mounts") as mounts:
        return any(line.split()[1] == target for line in mounts if len(line.split()) > 1)


def mount_proc(rootfs: Path) -> None:
    if not proc_mounted(rootfs):
        subprocess.run(["mount", "-t", "proc", "proc", str(rootfs / "proc")], check=True)


def unmount_proc(rootfs: Path) -> None:
    if rootfs.exists() and proc_mounted(rootfs):
        # Lazy unmount: a process that is just exiting must not keep the mount (and a later
        # `cp -a` of the rootfs would copy /proc/kcore and fill the disk).
        subprocess.run(["umount", "-l", str(rootfs / "proc")], check=False)
