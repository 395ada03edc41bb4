"""OTLP decode: protobuf / OTLP/JSON requests -> frozen records (traces, logs, metrics), and back."""
