"""The config layer: read YAML inputs, validate them, expand them into concrete configurations.

model.md §0 (pipeline and design-space expansion), §2 (constants), §3–§8 (hardware sections),
§10 (model), §11.1 (system). Modules: ``loader`` (YAML with 1e9-style floats), ``expand`` (§0 EXPAND
and system pre-processing), ``schema`` (allowed keys, types and bounds), ``validate`` (the checks),
``files`` (validated loaders), ``ranges`` (the ``{low, high, step, log}`` form).
"""
from .expand import DEFAULT_EVAL_LEN, expand, preprocess_system
from .files import (DEFAULT_MODEL_DIR, HardwareConfig, SystemConfig, expand_system,
                    load_constants, load_hardware, load_model, load_system, resolve_model_path)
from .loader import NumberSafeLoader, load_yaml, load_yaml_text
from .ranges import Range, is_range_mapping
from .validate import validate_constants, validate_hardware, validate_model, validate_system

__all__ = [
    "DEFAULT_EVAL_LEN", "DEFAULT_MODEL_DIR", "HardwareConfig", "NumberSafeLoader", "Range",
    "SystemConfig", "expand", "expand_system", "is_range_mapping", "load_constants",
    "load_hardware", "load_model", "load_system", "load_yaml", "load_yaml_text",
    "preprocess_system", "resolve_model_path", "validate_constants", "validate_hardware",
    "validate_model", "validate_system",
]
