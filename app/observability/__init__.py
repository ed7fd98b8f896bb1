"""Metrics (Prometheus) and traces (OpenTelemetry, only when configured).

Nothing is imported here: `python -m app` imports metrics_dir before any worker starts, and
prometheus-client must not load in that process.
"""
