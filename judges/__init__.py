"""LLM judges and the other quality signals: a self-test on the seeds before a judge is trusted,
rubric scores, pairwise comparisons in both orders, consensus among sampled answers, and
preference pairs from the signals that passed."""

from seedfactory.judges.consensus import Consensus, consensus, field_agreement
from seedfactory.judges.fence import neutralise, strip_grader_text
from seedfactory.judges.pairs import dpo_readiness, panel_pairs, panel_score
from seedfactory.judges.pairwise import (
    BothOrders,
    combine,
    judge_both_orders,
    pairwise_request,
    parse_pairwise,
    win_rate,
)
from seedfactory.judges.rubric import (
    RubricReply,
    judge_rows,
    load_criteria,
    parse_rubric,
    rubric_request,
    score_cutoff,
)
from seedfactory.judges.selftest import auc, check_set, corruptions, self_test

__all__ = ["BothOrders", "Consensus", "RubricReply", "auc", "check_set", "combine", "consensus", "corruptions",
           "dpo_readiness", "field_agreement", "judge_both_orders", "judge_rows", "load_criteria", "neutralise",
           "panel_pairs", "panel_score", "pairwise_request", "parse_pairwise", "parse_rubric", "rubric_request",
           "score_cutoff", "self_test", "strip_grader_text", "win_rate"]
