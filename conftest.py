pytest_plugins = ["tests.fixtures.celery_worker", "tests.fixtures.browser"]
