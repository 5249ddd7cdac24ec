# Asterisk 22 from Debian sid (bookworm has no asterisk package) with the project's
# asterisk_conf/, filled in at start: AMI on 127.0.0.1:5038, the secret from DIALER_AMI_SECRET.
FROM debian:sid-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        asterisk asterisk-modules \
    && rm -rf /var/lib/apt/lists/*
COPY asterisk_conf/ /opt/cati/asterisk_conf/
COPY deploy/docker/asterisk-entrypoint.sh /usr/local/bin/asterisk-entrypoint
ENTRYPOINT ["/usr/local/bin/asterisk-entrypoint"]
