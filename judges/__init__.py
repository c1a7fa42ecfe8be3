"""LLM judges: rubric scores per row, pairwise comparisons in both orders, preference pairs."""

from seedfactory.judges.pairs import best_worst_pairs
from seedfactory.judges.pairwise import combine, compare_many, pairwise_request, parse_pairwise
from seedfactory.judges.rubric import RubricReply, judge_rows, parse_rubric, rubric_request

__all__ = ["RubricReply", "best_worst_pairs", "combine", "compare_many", "judge_rows", "pairwise_request",
           "parse_pairwise", "parse_rubric", "rubric_request"]
