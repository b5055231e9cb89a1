# The Stasis worker and REST API (one process): `cti run`.
# Pinned by exact tag (no registry here to read digests from: add @sha256 when you build).
FROM python:3.11.11-slim-bookworm
RUN useradd --system --home /var/lib/cti --create-home cti
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY stasis_app ./stasis_app
COPY ivr ./ivr
COPY dashboards ./dashboards
# The product only, at the locked versions: no dev extras (test tools) in the image.
RUN pip install --no-cache-dir -c requirements.lock .
USER cti
ENV CTI_DATA_DIR=/var/lib/cti CTI_IVR_FILE=/app/ivr/main.toml CTI_LOG_FORMAT=json
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:3000/livez', timeout=4).status != 200)"
ENTRYPOINT ["cti", "run"]
