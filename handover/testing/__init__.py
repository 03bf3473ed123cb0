"""What the test modules share: the named actors and their API clients (``actors``),
factories for offers and for orders in any state (``factories``), scenario steps played
through the API (``steps``) and row snapshots (``snapshots``). The root conftest registers
the fixtures among them as plugins."""
