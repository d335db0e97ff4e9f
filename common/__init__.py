"""Cross-cutting API plumbing shared by every app: errors, pagination, health. No models."""
