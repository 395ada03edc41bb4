"""bench/tracer: ExecutionTracer call overhead against bare OTel SDK spans (python -m bench.tracer)."""
