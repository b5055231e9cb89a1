"""The native Asterisk lab: a Debian sid root filesystem with Asterisk 22, run under chroot.

Machines without a Docker engine (and Debian 12, which has no Asterisk package) still get the real
Asterisk: ``cti lab up`` builds the rootfs once (debootstrap, cached outside the repository),
installs ``asterisk/etc`` and the prompts into it, starts Asterisk and waits until it is fully
booted. See docs/operations.md.
"""

from stasis_app.lab.credentials import LAB_ARI_PASSWORD, LAB_ARI_USER, lab_environ
from stasis_app.lab.lab import Lab, LabPaths, LabStatus

__all__ = ["LAB_ARI_PASSWORD", "LAB_ARI_USER", "Lab", "LabPaths", "LabStatus", "lab_environ"]
