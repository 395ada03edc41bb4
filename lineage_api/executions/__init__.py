"""Execution logs and summaries over execution_traces and hook_executions."""
