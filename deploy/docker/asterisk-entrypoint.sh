#!/bin/sh
# Fill in asterisk_conf/ for instance "prod" (AMI port 5038) and run Asterisk in the foreground.
set -eu
: "${DIALER_AMI_SECRET:?set DIALER_AMI_SECRET}"
inst=prod
etc=/etc/asterisk-$inst
mkdir -p "$etc" /var/run/asterisk-$inst /var/log/asterisk-$inst \
    /var/spool/asterisk-$inst /var/lib/asterisk-$inst
case $DIALER_AMI_SECRET in  # Asterisk's config reads ; as a comment; awk's gsub reads & and \
    *[!A-Za-z0-9._+=@%:/-]*)
        echo "DIALER_AMI_SECRET may hold only letters, digits and . _ + = @ % : / -" >&2
        exit 2 ;;
esac
umask 077
for f in /opt/cati/asterisk_conf/*.conf; do
    awk -v inst="$inst" -v port="${AMI_PORT:-5038}" '{
        gsub(/@INSTANCE@/, inst); gsub(/@AMI_PORT@/, port)
        gsub(/@AMI_SECRET@/, ENVIRON["DIALER_AMI_SECRET"]); print
    }' "$f" > "$etc/$(basename "$f")"
done
chmod 644 "$etc"/*.conf
chmod 600 "$etc/manager.conf"
umask 022
mkdir -p "$etc/sounds"
cp /opt/cati/asterisk_conf/sounds/*.wav "$etc/sounds/"
exec asterisk -f -C "$etc/asterisk.conf"
