#!/bin/sh
# Copies the mounted asterisk/etc into place and replaces every committed credential with one
# from the environment (.env), so a Docker host never runs with a password from the repository:
# the lab's ARI password hash by the hash of $CTI_ARI_PASSWORD, and each phone's lab password
# (password = testNNNN) by $CTI_SIP_PASSWORD_NNNN. It refuses to start when one of them is
# missing, a placeholder or shorter than 24 characters (check-secrets.sh). Optional:
# CTI_ASTERISK_METRICS_PASSWORD (res_prometheus's Basic auth password at :8088/metrics; unset,
# Asterisk serves no metrics), CTI_EXTERNAL_ADDRESS (the host's address as phones on other machines see it, for SIP and SDP)
# and CTI_RTP_START/CTI_RTP_END (the RTP range; compose publishes the same one).
set -eu
. /usr/local/bin/check-secrets.sh

sip_extensions() {
    sed -n 's/^password = test\([0-9][0-9]*\)$/\1/p' "$1"
}

check_all() {  # check_all PJSIP_CONF: every secret this container needs, all problems at once
    failed=0
    check_secret CTI_ARI_PASSWORD || failed=1
    for ext in $(sip_extensions "$1"); do
        check_secret "CTI_SIP_PASSWORD_$ext" || failed=1
    done
    if [ -n "${CTI_ASTERISK_METRICS_PASSWORD:-}" ]; then
        check_secret CTI_ASTERISK_METRICS_PASSWORD || failed=1
    fi
    return "$failed"
}

# `asterisk-entrypoint check FILE`: only the checks (the unit tests run this with bash).
if [ "${1:-}" = "check" ]; then
    check_all "$2"
    exit $?
fi

check_all /etc/asterisk-cti/pjsip.conf || { echo "refusing to start: fix .env" >&2; exit 1; }
cp /etc/asterisk-cti/*.conf /etc/asterisk/
# SHA-512 crypt at 1000 rounds, as in the lab: Asterisk checks it on every ARI request
# (docs/decisions/0005-ari-password-hash-rounds.md). From stdin, so it is never in argv.
hash=$(printf '%s' "$CTI_ARI_PASSWORD" | mkpasswd --stdin --method=sha-512 --rounds=1000)
sed -i "s|^password = \\\$6\\\$.*|password = ${hash}|" /etc/asterisk/ari.conf
for ext in $(sip_extensions /etc/asterisk/pjsip.conf); do
    eval "sip=\$CTI_SIP_PASSWORD_$ext"
    # The password goes through a file, never argv; '|' and '\' and '&' are escaped for sed.
    escaped=$(printf '%s' "$sip" | sed 's/[|&\\]/\\&/g')
    sed -i "s|^password = test${ext}\$|password = ${escaped}|" /etc/asterisk/pjsip.conf
done
if [ -n "${CTI_ASTERISK_METRICS_PASSWORD:-}" ]; then
    escaped=$(printf '%s' "$CTI_ASTERISK_METRICS_PASSWORD" | sed 's/[|&\\]/\\&/g')
    sed -i "s|^auth_password = .*|auth_password = ${escaped}|" /etc/asterisk/prometheus.conf
else
    # No password of the operator's: no metrics, rather than the lab's password.
    sed -i "s/^enabled = yes/enabled = no/" /etc/asterisk/prometheus.conf
fi
if [ -n "${CTI_EXTERNAL_ADDRESS:-}" ]; then
    for transport in transport-udp transport-tcp; do
        sed -i "/^\[${transport}\]/a external_media_address = ${CTI_EXTERNAL_ADDRESS}\nexternal_signaling_address = ${CTI_EXTERNAL_ADDRESS}\nlocal_net = ${CTI_LOCAL_NET:-172.16.0.0/12}" /etc/asterisk/pjsip.conf
    done
fi
sed -i "s/^rtpstart = .*/rtpstart = ${CTI_RTP_START:-10000}/; s/^rtpend = .*/rtpend = ${CTI_RTP_END:-20000}/" /etc/asterisk/rtp.conf
chown -R root:asterisk /etc/asterisk && chmod 750 /etc/asterisk && chmod 640 /etc/asterisk/*.conf
exec asterisk -f -n -U asterisk -G asterisk
