"""Hardware evaluator (model.md §2–§9): chip → package → heatsink → server → TCO.

Every builder is a pure function returning a frozen dataclass. An invalid design is a result, not an
exception: it carries ``violations`` ({name: quantity − limit}, > 0 when violated) and ``reasons``.
"""
