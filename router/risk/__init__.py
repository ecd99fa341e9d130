"""Pre-trade risk: small checks in a pipeline, applied to client parents and to every child."""
from .checks import ChildRisk, ParentRisk, RiskReject, default_child_checks, default_parent_checks

__all__ = ["ChildRisk", "ParentRisk", "RiskReject", "default_child_checks", "default_parent_checks"]
