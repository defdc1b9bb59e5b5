"""Workload: the model (§10), the sized system (§11) and its mappings (§12)."""
from .mapping import (MappingPoint, default_mapping_point, enumerate_mappings, mapping_violations,
                      mappings_for_batch, pipeline_sizes, stage_candidates)
from .model import ATTN_COMM_PATTERNS, Model
from .system import SizingError, System, build_system

__all__ = ["ATTN_COMM_PATTERNS", "MappingPoint", "Model", "SizingError", "System", "build_system",
           "default_mapping_point", "enumerate_mappings", "mapping_violations", "mappings_for_batch",
           "pipeline_sizes", "stage_candidates"]
