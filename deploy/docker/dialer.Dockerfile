# The dialer service: `dialer run CAMPAIGN.toml` (the control API and /metrics on its port).
FROM python:3.11-slim
WORKDIR /opt/cati
COPY pyproject.toml README.md ./
# every package pyproject.toml ships (tests/test_deploy.py checks the list)
COPY dialer/ dialer/
COPY sampling/ sampling/
COPY questionnaire/ questionnaire/
COPY results/ results/
RUN pip install --no-cache-dir . && dialer --help >/dev/null && useradd --system --home /var/lib/cati cati \
    && mkdir -p /var/lib/cati && chown cati /var/lib/cati
USER cati
STOPSIGNAL SIGTERM
