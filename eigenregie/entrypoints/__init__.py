"""How the system is started: the `prb` CLI, the HTTP app, the Celery worker and beat."""
