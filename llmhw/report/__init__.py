"""Inspecting studies (issue 5): reports, exports, plots, comparisons and the Optuna dashboard.

Everything here reads a stored study; nothing here writes trials. Modules, one concept each:

- ``data``: find and load a study (storage URL, objectives, trials → pandas frames), list the
  studies of a storage;
- ``summary``: the numbers of a report — counts, hypervolume history (the search's normalisation),
  the best design per objective;
- ``breakdown``: the full breakdown of one design (area, yield, cost, power, TCO components,
  latency split, bottlenecks), re-evaluated from the study's stored inputs;
- ``fmt``: numbers with units for people;
- ``tables``: the rich tables of ``--report``, ``--list`` and ``--compare``;
- ``plots``: Pareto-front and hypervolume plots as standalone HTML (plotly) and PNG (matplotlib);
- ``export``: ``--export DIR`` (CSV, Parquet when pyarrow is installed, plots);
- ``compare``: fronts of several studies overlaid;
- ``dashboard``: optuna-dashboard on a study's storage (with a read-only view that flattens the
  design and exposes feasibility the way the dashboard reads it).
"""
from __future__ import annotations

from .data import StudyData, list_studies, load_study_data, storage_url_for

__all__ = ["StudyData", "list_studies", "load_study_data", "storage_url_for"]
