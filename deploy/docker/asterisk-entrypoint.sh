#!/bin/sh
# Fill in asterisk_conf/ for instance "prod" (AMI port 5038) and run Asterisk in the foreground.
set -eu
: "${DIALER_AMI_SECRET:?set DIALER_AMI_SECRET}"
inst=prod
etc=/etc/asterisk-$inst
mkdir -p "$etc" /var/run/asterisk-$inst /var/log/asterisk-$inst \
    /var/spool/asterisk-$inst /var/lib/asterisk-$inst
for f in /opt/cati/asterisk_conf/*.conf; do
    sed -e "s/@INSTANCE@/$inst/g" -e "s/@AMI_PORT@/${AMI_PORT:-5038}/g" \
        -e "s|@AMI_SECRET@|$DIALER_AMI_SECRET|g" "$f" > "$etc/$(basename "$f")"
done
chmod 600 "$etc/manager.conf"
mkdir -p "$etc/sounds"
cp /opt/cati/asterisk_conf/sounds/*.wav "$etc/sounds/"
exec asterisk -f -C "$etc/asterisk.conf"
