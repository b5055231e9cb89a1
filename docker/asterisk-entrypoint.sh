#!/bin/sh
# Copies the mounted asterisk/etc into place and replaces the lab's ARI password hash with the
# hash of $CTI_ARI_PASSWORD, so a Docker deployment never runs with the lab credential.
set -eu
: "${CTI_ARI_PASSWORD:?set CTI_ARI_PASSWORD (see .env.example)}"
cp /etc/asterisk-cti/*.conf /etc/asterisk/
# SHA-512 crypt at 1000 rounds, as in the lab: Asterisk checks it on every ARI request
# (docs/decisions/0005-ari-password-hash-rounds.md). From stdin, so it is never in argv.
hash=$(printf '%s' "$CTI_ARI_PASSWORD" | mkpasswd --stdin --method=sha-512 --rounds=1000)
sed -i "s|^password = \\\$6\\\$.*|password = ${hash}|" /etc/asterisk/ari.conf
chown -R root:asterisk /etc/asterisk && chmod 750 /etc/asterisk && chmod 640 /etc/asterisk/*.conf
exec asterisk -f -n -U asterisk -G asterisk
