pytest_plugins = [
    "tests.fixtures.infrastructure",
    "tests.fixtures.database",
    "tests.fixtures.http",
]
