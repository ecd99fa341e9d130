"""Pre-trade risk: small checks in a pipeline, applied to client parents and to every child."""
from .checks import (ChildRisk, ParentRisk, ParentTerms, RiskReject, default_child_checks, default_parent_checks,
                     first_failure)

__all__ = ["ChildRisk", "ParentRisk", "ParentTerms", "RiskReject", "default_child_checks", "default_parent_checks",
           "first_failure"]
