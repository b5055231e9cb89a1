#!/bin/sh
# check_secret NAME: exit 1 unless $NAME is set, is no placeholder and has at least 24 characters.
# The same rule as stasis_app/settings.py (weak_secret; tests/unit/test_docker_secrets.py keeps
# the two lists equal). Sourced by asterisk-entrypoint.sh; the value is never printed.
PLACEHOLDER_SECRETS="change-me changeme change-me-ari change-me-token cti-lab-ari password secret"
PLACEHOLDER_MARKERS="change-me changeme replace-me"
MIN_SECRET_LENGTH=24

check_secret() {
    eval "value=\${$1:-}"
    if [ -z "$value" ]; then
        echo "$1: is required and not set (see .env.example)" >&2; return 1
    fi
    lowered=$(printf '%s' "$value" | tr '[:upper:]' '[:lower:]')
    for p in $PLACEHOLDER_SECRETS; do
        if [ "$lowered" = "$p" ]; then
            echo "$1: is a placeholder from the examples; set a random value (openssl rand -hex 24)" >&2; return 1
        fi
    done
    for m in $PLACEHOLDER_MARKERS; do
        case "$lowered" in *"$m"*)
            echo "$1: is a placeholder from the examples; set a random value (openssl rand -hex 24)" >&2; return 1;;
        esac
    done
    if [ "${#value}" -lt "$MIN_SECRET_LENGTH" ]; then
        echo "$1: is too short (${#value} characters, at least $MIN_SECRET_LENGTH)" >&2; return 1
    fi
}
