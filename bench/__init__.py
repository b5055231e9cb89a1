"""Load and endurance harness: SIPp against the lab Asterisk, the Stasis IVR beside a dialplan IVR.

Run it with ``./bench.sh --short`` (or ``python -m bench --short|--full``); it writes
docs/performance.md. Not part of the test suite.
"""
