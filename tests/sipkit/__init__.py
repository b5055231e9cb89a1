"""SIP test kit: real SIP peers and checks against the lab Asterisk.

* :class:`Phone` (phone.py): a baresip softphone per instance, registered over UDP, sending a
  WAV file and recording what it receives, driven through ctrl_tcp and its event stream.
* :class:`Linphone` (linphone.py): the same with linphonec, driven on stdin, for what baresip 1.0
  cannot do (an attended transfer: REFER with Replaces).
* :func:`run_sipp` (sipp.py): one SIPp scenario from tests/sipp/ -> :class:`SippResult`.
* audio.py: 8 kHz mono s16 WAV I/O, test signals, :func:`rms`,
  :func:`normalized_cross_correlation`.
* asterisk.py: what Asterisk says: :func:`asterisk_contacts`, :func:`channel_count`,
  :func:`channel_names`, :class:`LogCursor` (log lines written since a moment).

Everything listens on 127.0.0.1 only; every process a helper starts is ended by it.
"""

from tests.sipkit.asterisk import (
    AsteriskCli,
    Contact,
    LogCursor,
    asterisk_contacts,
    channel_count,
    channel_names,
    contacts,
)
from tests.sipkit.audio import (
    RATE,
    normalized_cross_correlation,
    read_wav,
    rms,
    speech,
    tone_sequence,
    write_wav,
)
from tests.sipkit.linphone import CallState, Linphone, LinphoneError, LinphoneEvent
from tests.sipkit.phone import Phone, PhoneError, PhoneEvent
from tests.sipkit.ports import HOST, free_port
from tests.sipkit.sipp import SippResult, run_sipp

__all__ = [
    "HOST",
    "RATE",
    "AsteriskCli",
    "CallState",
    "Contact",
    "Linphone",
    "LinphoneError",
    "LinphoneEvent",
    "LogCursor",
    "Phone",
    "PhoneError",
    "PhoneEvent",
    "SippResult",
    "asterisk_contacts",
    "channel_count",
    "channel_names",
    "contacts",
    "free_port",
    "normalized_cross_correlation",
    "read_wav",
    "rms",
    "run_sipp",
    "speech",
    "tone_sequence",
    "write_wav",
]
