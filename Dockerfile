# The pattern-traceability image: `traceability collector`, `traceability api`, `traceability db upgrade`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY cli ./cli
COPY instrumentation ./instrumentation
COPY collector ./collector
COPY exporter ./exporter
COPY lineage_api ./lineage_api
COPY hooks ./hooks
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/traceability --create-home traceability \
    && install -d -o traceability -g traceability /var/spool/traceability

USER traceability
EXPOSE 4318 8053
ENTRYPOINT ["traceability"]
CMD ["--help"]
