#!/bin/sh
# Copies the mounted asterisk/etc into place and replaces the lab's ARI password hash with the
# hash of $CTI_ARI_PASSWORD, so a Docker deployment never runs with the lab credential.
set -eu
: "${CTI_ARI_PASSWORD:?set CTI_ARI_PASSWORD (see .env.example)}"
cp /etc/asterisk-cti/*.conf /etc/asterisk/
hash=$(openssl passwd -6 "$CTI_ARI_PASSWORD")
sed -i "s|^password = \\\$6\\\$.*|password = ${hash}|" /etc/asterisk/ari.conf
chown -R root:asterisk /etc/asterisk && chmod 750 /etc/asterisk && chmod 640 /etc/asterisk/*.conf
exec asterisk -f -n -U asterisk -G asterisk
