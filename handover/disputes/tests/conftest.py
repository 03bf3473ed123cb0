import pytest
from django.utils import timezone


@pytest.fixture
def clock(time_machine):
    """The clock stands still until a test moves it."""
    time_machine.move_to(timezone.now(), tick=False)
    return time_machine
