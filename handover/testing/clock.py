"""The one ``clock`` fixture: time stands still until the test moves it."""

import pytest
from django.utils import timezone


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "clock_start(when): the instant at which the clock fixture stands still"
    )


@pytest.fixture
def clock(request: pytest.FixtureRequest, time_machine):
    """The clock stands still until a test moves it (``clock.shift``, ``clock.move_to``): at
    the instant of a ``clock_start`` marker (``pytestmark = pytest.mark.clock_start(T0)``)
    where a module pins its dates, else at the current time."""
    marker = request.node.get_closest_marker("clock_start")
    time_machine.move_to(marker.args[0] if marker else timezone.now(), tick=False)
    return time_machine
