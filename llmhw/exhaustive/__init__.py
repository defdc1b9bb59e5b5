"""The exhaustive mode (model.md §0, §15): the reference's ``main.py`` equivalent, in one wing.

- :mod:`.hardware_phase`: every chip → package → server of a hardware file, invalid ones recorded;
- :mod:`.hardware_table`: the §15.1 hardware table (columns of the reference tables);
- :mod:`.software_phase`: every valid server × system configuration, its §12.3 optima and the §15.2
  performance table;
- :mod:`.csv_format`: the files (reference text form, optima CSV, invalid designs, Parquet copies).

Which door it goes through. The exhaustive mode uses the same builders (``llmhw.hardware``,
``llmhw.workload``) and the same performance equations as :class:`llmhw.evaluate.Problem`, through the
same two drivers of :mod:`llmhw.perf`: the grid driver (every mapping × batch of a system at once, for the
§12.3 optima) and the single-point driver (the §15.2 rows of the chosen mappings). It does not call
``Problem.evaluate`` point by point because §0 enumerates every mapping of every system, which the grid
driver scores in a few numpy passes per system instead of one Python evaluation per mapping (the speed
grid's full exhaustive run stays within its CPU budget only this way), and because the reference tables need
what ``Problem`` deliberately hides (the invalid designs' indices in the expanded lists, the §12.3 optima
of all four goals, memory-infeasible systems dropped rather than scored with a violation). ``Problem``
itself uses the grid driver for ``mapping: best``, so both modes rank mappings with the same numbers.
"""
