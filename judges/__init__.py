"""LLM judges: rubric scores per row, pairwise comparisons in both orders, preference pairs."""

from seedfactory.judges.pairs import best_worst_pairs
from seedfactory.judges.pairwise import (
    BothOrders,
    combine,
    judge_both_orders,
    pairwise_request,
    parse_pairwise,
    win_rate,
)
from seedfactory.judges.rubric import RubricReply, judge_rows, parse_rubric, rubric_request, score_cutoff

__all__ = ["BothOrders", "RubricReply", "best_worst_pairs", "combine", "judge_both_orders", "judge_rows",
           "pairwise_request", "parse_pairwise", "parse_rubric", "rubric_request", "score_cutoff", "win_rate"]
