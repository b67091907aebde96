"""LLM-backed instances: the decisions they make, the prompts, and the backend stack a run uses."""
