"""Secret redaction, shared by the hook (before anything leaves it) and the collector (Claude Code's
own telemetry, at ingest): ``redact.py`` applies the rules, ``secret_rules.py`` holds the provider
patterns generated from detect-secrets by ``rules_gen.py``, ``regex_cache.py`` keeps them compiled on
disk. Left empty of code: the hook imports this package on its millisecond budget."""
