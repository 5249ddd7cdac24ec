# The dialer service: `dialer run CAMPAIGN.toml` (the control API and /metrics on its port).
FROM python:3.11-slim
WORKDIR /opt/cati
COPY pyproject.toml README.md ./
COPY dialer/ dialer/
COPY sampling/ sampling/
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/cati cati \
    && mkdir -p /var/lib/cati && chown cati /var/lib/cati
USER cati
STOPSIGNAL SIGTERM
