"""Pattern derivation: hook executions that wrote code -> patterns, lineage and executions."""
