"""Calibration against measured hardware (docs/validation.md §V.10): read a measurement file, fit the
stack's efficiency parameters once, predict every measured point, report the error."""
