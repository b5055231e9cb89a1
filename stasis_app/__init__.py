"""cti: a call-center CTI stack on Asterisk 22, driven by an ARI Stasis worker."""

__version__ = "0.1.0"
