"""llmhw: constrained multi-objective design search for LLM-inference hardware."""

__version__ = "0.1.0"
