# Asterisk 22 from the same Debian package the native lab uses (Debian sid), configured from the
# same asterisk/etc, with the generated prompts and music on hold baked in.

# --- prompts and music on hold: generated with espeak-ng + sox by `cti sounds build`
# Pinned by exact tag (no registry here to read digests from: add @sha256 when you build).
FROM python:3.11.11-slim-bookworm AS prompts
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY stasis_app ./stasis_app
COPY sounds/prompts.toml ./sounds/prompts.toml
RUN pip install --no-cache-dir -c requirements.lock . && cti sounds build --out /src/sounds

# --- Asterisk
# sid has no versions: a dated snapshot tag (unverified offline; update it deliberately).
FROM debian:sid-20250224-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends asterisk asterisk-core-sounds-en-gsm whois \
 && rm -rf /var/lib/apt/lists/* /etc/asterisk/*
COPY --from=prompts /src/sounds/ko/ /usr/share/asterisk/sounds/ko/cti/
COPY --from=prompts /src/sounds/en/ /usr/share/asterisk/sounds/en/cti/
# The folder musiconhold.conf's default class plays (stasis_app/sounds/music.py: MOH_DIR).
COPY --from=prompts /src/sounds/moh/ /usr/share/asterisk/moh/cti/
COPY docker/check-secrets.sh /usr/local/bin/check-secrets.sh
COPY docker/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint
# asterisk/etc is mounted read-only at /etc/asterisk-cti by compose.yaml (one source of config).
ENTRYPOINT ["/usr/local/bin/asterisk-entrypoint"]
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s \
  CMD asterisk -rx "core waitfullybooted" | grep -q "fully booted"
