"""The hook's handler table names every event handler, and only handlers."""

from __future__ import annotations

from traceability.hooks.events import HANDLERS, EventSpans


def test_every_handler_method_is_in_the_table_under_its_event() -> None:
    methods = {name for name in vars(EventSpans) if name.startswith("_on_")}
    assert {handler.__name__ for handler in HANDLERS.values()} == methods - {"_on_generic"}
    for event, handler in HANDLERS.items():
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in event)
        assert handler.__name__ == "_on" + snake, (event, handler.__name__)
