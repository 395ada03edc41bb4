"""The OTel resource every ``ExecutionTracer`` span carries: service.name, service.version, host.name."""

from __future__ import annotations

import socket

from opentelemetry.sdk.resources import Resource

from traceability.instrumentation import semconv as sc
from traceability.instrumentation.version import package_version


def build_resource(service_name: str | None = None, service_version: str | None = None) -> Resource:
    """service.name / service.version / host.name: argument, else ``OTEL_SERVICE_NAME`` /
    ``OTEL_RESOURCE_ATTRIBUTES``, else ``claude-code-hooks`` / the package version / the hostname."""
    explicit = {sc.SERVICE_NAME: service_name, sc.SERVICE_VERSION: service_version}
    resource = Resource.create({k: v for k, v in explicit.items() if v})
    defaults: dict[str, str] = {}
    if str(resource.attributes.get(sc.SERVICE_NAME, "")).startswith("unknown_service"):
        defaults[sc.SERVICE_NAME] = sc.DEFAULT_SERVICE_NAME
    if sc.SERVICE_VERSION not in resource.attributes:
        defaults[sc.SERVICE_VERSION] = package_version()
    if sc.HOST_NAME not in resource.attributes:
        defaults[sc.HOST_NAME] = socket.gethostname()
    return resource.merge(Resource(defaults)) if defaults else resource
