"""Top layer: the orchestration that chains the stages (command line, pipeline, tasks, report, exports)."""
