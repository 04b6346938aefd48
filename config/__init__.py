"""Configuration: process settings from the environment, per-integration settings, the Celery config."""
