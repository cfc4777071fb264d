from tests.alerts.receiver import make_receiver  # noqa: F401  (the fixture)
