"""年終考核, the year-end appraisal of the controlled plans: the formula, the Celery rollup, self-assessment,
review and grades, and the agencies' annual summaries. It reads the monitoring's record (plans and reports), never
the other way round. The models are plan_control.models.appraisal (one app label)."""
