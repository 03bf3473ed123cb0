"""What the test modules share: the named actors and their API clients (``actors``),
factories for offers and for orders in any state (``factories``), scenario steps played
through the API (``steps``), sample files and deliveries posted with them (``files``), row
snapshots (``snapshots``) and the one frozen ``clock`` (``clock``). The root conftest
registers the fixtures among them as plugins."""
